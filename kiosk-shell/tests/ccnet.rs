//! ccnet.md §4, the host driver's conformance checklist, item by item, over a socat PTY
//! pair: simulated unit ↔ driver ↔ journal ↔ bridge ↔ a WebSocket client as the page.
//! The numbers in comments are the checklist's.

#[path = "support/ccnet_rig.rs"]
mod rig;

use std::time::Duration;

use kiosk_shell::ccnet::bill_table::BillTable;
use kiosk_shell::ccnet::codes::{ACK, NAK};
use rig::{From, Page, Rig, test_config};

const POLL: u8 = 0x33;
const RESET: u8 = 0x30;
const IDENT: u8 = 0x37;
const TABLE: u8 = 0x41;
const ENABLE: u8 = 0x34;
const STACK: u8 = 0x35;
const RETURN: u8 = 0x36;
const HOLD: u8 = 0x38;

fn is_data_reply(payload: &[u8]) -> bool {
    !matches!(payload, [ACK] | [NAK] | [0x30])
}

/// 1, 6, 10, 11, 13, 15, 35: start-up order, the enable mask, ACK discipline, bus
/// timing, the frame log.
#[tokio::test(flavor = "multi_thread")]
async fn initialises_in_order_and_enables_with_a_big_endian_mask() {
    let rig = Rig::start().await;
    let _page = rig.enabled_page(1000).await;

    let frames = rig.frames();
    let commands = rig.host_commands();
    // 13: POLL, then RESET, then polls until 19 before IDENTIFICATION / GET BILL TABLE.
    assert_eq!(&commands[..2], &[POLL, RESET], "{commands:02X?}");
    let ident_at = frames
        .iter()
        .position(|f| f.from == From::Host && f.payload == [IDENT])
        .expect("IDENTIFICATION sent");
    let saw_disabled_before = frames[..ident_at]
        .iter()
        .any(|f| f.from == From::Device && f.payload == [0x19]);
    assert!(saw_disabled_before, "IDENTIFICATION before status 19");
    assert!(commands.contains(&TABLE));
    // 15: the bills up to 1000 RUB are types 2..6: bits 2..6 of Y3, escrow mask the same.
    let enable = frames
        .iter()
        .find(|f| f.from == From::Host && f.payload[0] == ENABLE)
        .expect("ENABLE sent");
    assert_eq!(enable.payload[1..], [0x00, 0x00, 0x7C, 0x00, 0x00, 0x7C]);

    // 6: every data reply gets exactly one ACK next, an ACK reply gets none.
    for (i, f) in frames.iter().enumerate() {
        if f.from != From::Device {
            continue;
        }
        let Some(next) = frames[i + 1..].iter().find(|n| n.from == From::Host) else {
            continue;
        };
        if is_data_reply(&f.payload) {
            assert_eq!(
                next.payload,
                [ACK],
                "data reply {:02X?} not ACKed",
                f.payload
            );
        } else {
            assert_ne!(next.payload, [ACK], "ACK sent for {:02X?}", f.payload);
        }
    }

    // 12: one command at a time: every command the host sends gets its answer before
    // the host sends the next.
    let mut waiting_for_answer = false;
    for f in &frames {
        match f.from {
            From::Host if f.payload != [ACK] && f.payload != [NAK] => {
                assert!(
                    !waiting_for_answer,
                    "a second command before the answer: {:02X?}",
                    f.payload
                );
                waiting_for_answer = true;
            }
            From::Device => waiting_for_answer = false,
            From::Host => {}
        }
    }

    // 1, 35: frames logged in hex with direction; POLL is exactly 02 03 06 33 DA 81.
    let log = rig.frame_log();
    assert!(log.contains("> 02 03 06 33 DA 81  POLL"), "{log}");
    assert!(log.contains("> 02 03 06 30 41 B3  RESET"), "{log}");
    assert!(log.contains("> 02 03 06 00 C2 82  ACK"), "{log}");
    assert!(log.contains("< 02 03 06 19 82 0F  status"), "{log}");
    // 10, 11: host-side times from the log (millisecond resolution, so 20 ms reads ≥ 19):
    // ≥ 20 ms of silence after an ACK, polls no closer than 100 ms.
    let mut last_ack: Option<i64> = None;
    let mut last_poll: Option<i64> = None;
    for line in log.lines().filter(|l| l.contains(" > ")) {
        let at = millis(line);
        if line.ends_with("ACK") {
            last_ack = Some(at);
            continue;
        }
        if let Some(ack) = last_ack.take() {
            assert!(at - ack >= 19, "t-free broken: {line}");
        }
        if line.ends_with("POLL") {
            if let Some(prev) = last_poll {
                assert!(at - prev >= 99, "polls closer than 100 ms: {line}");
            }
            last_poll = Some(at);
        }
    }
}

/// Milliseconds of the day from a frame-log line's timestamp.
fn millis(line: &str) -> i64 {
    let time = &line[11..23]; // HH:MM:SS.mmm
    let h: i64 = time[0..2].parse().unwrap();
    let m: i64 = time[3..5].parse().unwrap();
    let s: i64 = time[6..8].parse().unwrap();
    let ms: i64 = time[9..12].parse().unwrap();
    ((h * 60 + m) * 60 + s) * 1000 + ms
}

/// 19, 20, 21, 26, 27, 34 and the journal: a bill is credited once, only after its 81
/// is journaled and ACKed, even when the unit repeats 81; the unit is disabled when the
/// limit is reached and at shutdown.
#[tokio::test(flavor = "multi_thread")]
async fn credits_each_stacked_bill_once_and_disables_at_the_limit() {
    let mut rig = Rig::start().await;
    let mut page = rig.enabled_page(600).await;
    rig.hooks().lose_acks_after_stacked = 2;

    rig.act("insert-rub 500");
    page.state("escrow", "500.00 RUB").await;
    let bill = page.bill().await;
    assert_eq!(bill["amount"], 50_000);
    assert_eq!(bill["currency"], "RUB");
    let event_id = bill["event_id"].as_str().unwrap().to_string();
    // The unit said 81 three times (two ACKs lost); one bill, one STACK.
    rig.until_line("three 81s", |f| {
        f.iter()
            .filter(|f| f.from == From::Device && f.payload == [0x81, 5])
            .count()
            >= 3
    })
    .await;
    page.state("idle", "ready").await;
    assert_eq!(page.bills().len(), 1);
    assert_eq!(rig.count_host(STACK), 1);
    // Journaled (and fsynced) before the first ACK of the 81 reached the unit.
    assert_eq!(rig.hooks().journaled_before_ack.first(), Some(&true));
    let journal = rig.journaled_bills();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["event_id"], event_id.as_str());
    page.ack(&event_id).await;

    // 26: still enabled after the bill; the next one reaches the limit and disables.
    rig.act("insert-rub 100");
    let second = page.bill().await;
    assert_eq!(second["amount"], 10_000);
    page.state("disabled", "disabled").await;
    let last_enable = rig.last_host(ENABLE);
    assert_eq!(
        last_enable.as_deref(),
        Some(&[ENABLE, 0, 0, 0, 0, 0, 0][..])
    );
    // A bill inserted now is not taken.
    rig.act("insert-rub 100");
    page.drain(Duration::from_millis(800)).await;
    assert_eq!(page.bills().len(), 2);

    // 27: shutdown disables the unit.
    page.enable(5000).await;
    page.state("idle", "ready").await;
    rig.stop_terminal().await;
    let last = rig
        .frames()
        .into_iter()
        .rev()
        .find(|f| f.from == From::Host)
        .unwrap();
    assert_eq!(last.payload[..], [ENABLE, 0, 0, 0, 0, 0, 0]);
    assert_eq!(rig.journaled_bills().len(), 2);
    assert_eq!(rig.journal_lines("acks.jsonl").len(), 1);
}

/// 22, 23, 25, 31: what does not fit is returned, rejections and pauses are reported
/// without credit and without a fault.
#[tokio::test(flavor = "multi_thread")]
async fn returns_what_does_not_fit_and_reports_rejections() {
    let rig = Rig::start().await;
    let mut page = rig.enabled_page(600).await;
    rig.act("insert-rub 500");
    page.bill().await;
    page.state("idle", "ready").await;

    // 22, 23: a second 500 is enabled but 100 is all that is due: RETURN, no credit.
    rig.act("insert-rub 500");
    page.state("accepting", "more than the amount still due")
        .await;
    page.state("idle", "bill returned: 500.00 RUB").await;
    assert_eq!(rig.count_host(RETURN), 1);
    page.state("idle", "ready").await;

    // 25: a 5000 is above the limit, so not enabled: the unit rejects it as inhibited.
    rig.act("insert-rub 5000");
    page.state("accepting", "inhibited denomination").await;
    rig.act("wait 600\nreject 67");
    page.state("accepting", "bill rejected (optic)").await;
    // 31: a pause is transient.
    rig.act("wait 600\npause");
    page.state("accepting", "pause").await;
    page.state("idle", "ready").await;
    assert_eq!(page.bills().len(), 1);
    assert!(
        !page.seen.iter().any(|m| m["state"] == "fault"),
        "{:#?}",
        page.seen
    );
}

/// 28, 29, 30: faults block; the cassette put back is re-initialized and re-enabled; a
/// cheating attempt is an alarm.
#[tokio::test(flavor = "multi_thread")]
async fn faults_block_and_the_unit_recovers() {
    let rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    let idents = rig.count_host(IDENT);

    rig.act("cassette out");
    page.state("fault", "drop cassette out of position").await;
    rig.act("wait 500\ncassette in");
    page.state("disabled", "initializing").await;
    page.state("idle", "ready").await;
    assert_eq!(rig.count_host(IDENT), idents + 1, "re-identified");
    assert_eq!(rig.count_host(ENABLE), 2, "re-enabled");

    rig.act("jam");
    page.state("fault", "validator jammed").await;
    rig.act("clear");
    page.state("idle", "ready").await;
    rig.act("fail 50");
    page.state("fault", "failure 0x50").await;
    rig.act("clear");
    page.state("idle", "ready").await;
    rig.act("full");
    page.state("fault", "drop cassette full").await;
    rig.act("clear");
    page.state("idle", "ready").await;

    // 30: cheated during a bill: alarm, nothing credited.
    rig.act("insert-rub 100\nwait 100\ncheat");
    page.state("fault", "cheated").await;
    page.state("idle", "ready").await;
    page.drain(Duration::from_millis(500)).await;
    assert!(page.bills().is_empty(), "{:#?}", page.seen);
}

/// 32: a power cut with a bill in the stacker is re-initialized and the recovered 81 is
/// credited once; with the bill in the head nothing is credited.
#[tokio::test(flavor = "multi_thread")]
async fn power_loss_recovers_a_stacked_bill_once() {
    let rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    let resets = rig.count_host(RESET);

    rig.act("power-cycle stacker 4");
    page.state("disabled", "power up with a bill in the stacker")
        .await;
    let bill = page.bill().await;
    assert_eq!(bill["amount"], 10_000);
    assert_eq!(rig.journaled_bills()[0]["recovered"], true);
    page.state("idle", "ready").await;
    assert_eq!(rig.count_host(RESET), resets + 1);

    rig.act("power-cycle head");
    page.state("disabled", "power up with a bill in the validator")
        .await;
    page.state("idle", "ready").await;
    page.drain(Duration::from_millis(500)).await;
    assert_eq!(page.bills().len(), 1);
}

/// 7, 8, 17, 18: a bad CRC is NAKed and not acted on, a device NAK makes the host send
/// the command again (three tries), ILLEGAL COMMAND is survived, Busy is honoured.
#[tokio::test(flavor = "multi_thread")]
async fn link_errors_are_retried_without_double_credit() {
    let rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;

    // 7: the CRC of the reply to the next POLL is spoiled.
    let naks = rig.count(From::Host, &[NAK]);
    rig.act("corrupt-crc");
    rig.until_line("a NAK from the host", |f| {
        f.iter()
            .filter(|f| f.from == From::Host && f.payload == [NAK])
            .count()
            > naks
    })
    .await;

    // 8: three NAKs in a row: the POLL is sent three times, then the driver goes on.
    let before = rig.frames().len();
    rig.hooks().nak_commands = 3;
    rig.until_line("the NAKs used up", |f| {
        f[before..]
            .iter()
            .filter(|f| f.from == From::Device && f.payload == [NAK])
            .count()
            >= 3
    })
    .await;
    let after: Vec<_> = rig.frames()[before..].to_vec();
    let host: Vec<_> = after
        .iter()
        .filter(|f| f.from == From::Host)
        .take(3)
        .collect();
    assert!(host.iter().all(|f| f.payload == [POLL]), "{host:02X?}");

    // 17: ILLEGAL COMMAND to the first STACK; the bill is still stacked once, no NAK.
    rig.hooks().illegal_stacks = 1;
    let naks = rig.count(From::Host, &[NAK]);
    rig.act("insert-rub 100");
    let bill = page.bill().await;
    assert_eq!(bill["amount"], 10_000);
    assert_eq!(rig.count_host(STACK), 2);
    let naks_now = rig.count(From::Host, &[NAK]);
    assert_eq!(naks_now, naks, "ILLEGAL COMMAND must not be NAKed");

    // 18: Busy 5 (500 ms): the host waits before polling again.
    page.state("idle", "ready").await;
    let from = rig.frames().len();
    rig.act("busy 5");
    rig.until_line("a busy reply", |f| {
        f[from..]
            .iter()
            .any(|f| f.from == From::Device && f.payload == [0x1B, 5])
    })
    .await;
    rig.until_line("the poll after busy", |f| {
        let i = f[from..]
            .iter()
            .position(|f| f.from == From::Device && f.payload == [0x1B, 5]);
        i.is_some_and(|i| f[from + i..].iter().filter(|f| f.payload == [POLL]).count() >= 1)
    })
    .await;
    let f = rig.frames();
    let busy_at = f[from..]
        .iter()
        .find(|f| f.from == From::Device && f.payload == [0x1B, 5])
        .unwrap()
        .at;
    let next_poll = f[from..]
        .iter()
        .find(|x| x.from == From::Host && x.payload == [POLL] && x.at > busy_at)
        .unwrap()
        .at;
    assert!(next_poll - busy_at >= Duration::from_millis(450));
    assert_eq!(page.bills().len(), 1);
}

/// 14: the denominations come from GET BILL TABLE: a permuted table changes the amount.
#[tokio::test(flavor = "multi_thread")]
async fn amounts_come_from_the_bill_table() {
    let table = BillTable::from_rubles(&[(2, 100), (3, 10), (4, 1000), (9, 50)]);
    let rig = Rig::start_with(table, test_config()).await;
    let mut page = rig.enabled_page(1000).await;
    rig.act("insert 2");
    assert_eq!(page.bill().await["amount"], 10_000);
    page.state("idle", "ready").await;
    rig.act("insert 9");
    assert_eq!(page.bill().await["amount"], 5_000);
}

/// 16: a unit that ignores ENABLE is reported, and the driver does not hang.
#[tokio::test(flavor = "multi_thread")]
async fn an_ignored_enable_is_reported() {
    let rig = Rig::start().await;
    let mut page = rig.page().await;
    page.state("disabled", "disabled").await;
    rig.act("ignore-enable on");
    page.enable(1000).await;
    page.state("disabled", "ignored the enable command").await;
    rig.act("ignore-enable off");
    page.state("idle", "ready").await;
}

/// 21, 23, 24: when the page goes away during a bill the unit HOLDs it, stacks it when
/// the page comes back; returns it if the page doesn't; a STACK never followed by 81 is
/// a fault and no credit.
#[tokio::test(flavor = "multi_thread")]
async fn escrow_holds_for_the_page_and_stacking_times_out() {
    let rig = Rig::start().await;
    let page = rig.enabled_page(1000).await;
    rig.act("insert-rub 100");
    page.close().await;
    rig.until_line("a HOLD", |f| {
        f.iter()
            .any(|f| f.from == From::Host && f.payload == [HOLD])
    })
    .await;
    let mut page = rig.page().await;
    page.enable(1000).await;
    let bill = page.bill().await;
    assert_eq!(bill["amount"], 10_000);
    page.ack(bill["event_id"].as_str().unwrap()).await;
    page.state("idle", "ready").await;

    // Nobody comes back: returned after the hold limit.
    rig.act("insert-rub 100");
    page.close().await;
    rig.until_line("a RETURN", |f| {
        f.iter()
            .any(|f| f.from == From::Host && f.payload == [RETURN])
    })
    .await;

    // 24: the unit takes STACK but never stacks.
    let mut page = rig.enabled_page(1000).await;
    rig.hooks().swallow_stack = true;
    rig.act("insert-rub 100");
    page.state("fault", "stacking timeout").await;
    assert_eq!(page.bills().len(), 0, "{:#?}", page.seen);
    assert_eq!(rig.journaled_bills().len(), 1);
}

/// 9, 33: silence means offline and RESETs until the unit answers; a lost line is
/// re-opened and the driver never exits.
#[tokio::test(flavor = "multi_thread")]
async fn offline_and_a_lost_line_recover() {
    let mut rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;

    let from = rig.frames().len();
    rig.act("silent 4000");
    page.state("fault", "offline: no reply").await;
    rig.until_line("RESETs while offline", |f| {
        f[from..]
            .iter()
            .filter(|f| f.from == From::Host && f.payload == [RESET])
            .count()
            >= 2
    })
    .await;
    page.state("idle", "ready").await;

    rig.socat.kill();
    page.state("fault", "offline").await;
    let dir = rig.dir.path().to_path_buf();
    let _ = std::fs::remove_file(dir.join("host"));
    let _ = std::fs::remove_file(dir.join("device"));
    rig.socat = rig::Socat::start(&dir);
    page.state("idle", "ready").await;
    rig.act("insert-rub 100");
    assert_eq!(page.bill().await["amount"], 10_000);
}

/// The bridge: an unacknowledged bill goes out again after a reconnect and after a
/// restart of the shell; an acknowledged one does not.
#[tokio::test(flavor = "multi_thread")]
async fn unacknowledged_bills_are_sent_again() {
    let mut rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    rig.act("insert-rub 100");
    let bill = page.bill().await;
    page.close().await;

    let mut page = rig.page().await;
    let again = page.bill().await;
    assert_eq!(again["event_id"], bill["event_id"]);
    page.close().await;

    rig.stop_terminal().await;
    rig.start_terminal().await;
    let mut page = rig.page().await;
    let after_restart = page.bill().await;
    assert_eq!(after_restart["event_id"], bill["event_id"]);
    page.ack(bill["event_id"].as_str().unwrap()).await;
    page.drain(Duration::from_millis(300)).await;
    page.close().await;

    let mut page = rig.page().await;
    page.state("disabled", "").await;
    page.drain(Duration::from_millis(500)).await;
    assert!(page.bills().is_empty(), "{:#?}", page.seen);
}

/// 5, 27: frames for another bus address are ignored; the page's `disable` turns the
/// unit off.
#[tokio::test(flavor = "multi_thread")]
async fn other_addresses_are_ignored_and_the_page_disables_the_unit() {
    let rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    rig.hooks().foreign_frames = 3;
    rig.act("insert-rub 100");
    assert_eq!(page.bill().await["amount"], 10_000);
    let log = rig.frame_log();
    assert!(log.contains("other address, ignored"), "{log}");
    assert!(!log.contains("  NAK"), "nothing to NAK: {log}");

    page.state("idle", "ready").await;
    page.send(serde_json::json!({"type": "disable"})).await;
    page.state("disabled", "disabled").await;
    let last_enable = rig.last_host(ENABLE);
    assert_eq!(
        last_enable.as_deref(),
        Some(&[ENABLE, 0, 0, 0, 0, 0, 0][..])
    );
}

/// 20 across a restart: the shell stops after journaling a bill but before the unit got
/// the ACK of its 81 (here the unit ignores the ACK). The restarted shell hears the same
/// 81 first: it is the journaled bill, sent again to the page under its own `event_id`,
/// not a second one.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_before_the_unit_got_its_ack_does_not_count_the_bill_twice() {
    let mut rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    rig.hooks().lose_acks_after_stacked = u32::MAX;
    rig.act("insert-rub 100");
    let bill = page.bill().await;
    page.close().await;
    rig.stop_terminal().await;
    assert!(rig.count(From::Device, &[0x81, 4]) >= 1);

    rig.hooks().lose_acks_after_stacked = 0;
    let repeats = rig.count(From::Device, &[0x81, 4]);
    rig.start_terminal().await;
    let mut page = rig.page().await;
    let again = page.bill().await;
    assert_eq!(again["event_id"], bill["event_id"]);
    rig.until_line("the 81 heard by the new shell", |f| {
        f.iter()
            .filter(|f| f.from == From::Device && f.payload == [0x81, 4])
            .count()
            > repeats
    })
    .await;
    page.state("disabled", "").await;
    page.drain(Duration::from_millis(600)).await;
    assert_eq!(page.bills().len(), 1, "{:#?}", page.seen);
    let journaled = rig.journaled_bills();
    assert_eq!(journaled.len(), 1, "{journaled:?}");

    // The next bill is a new one again.
    page.enable(1000).await;
    page.state("idle", "ready").await;
    rig.act("insert-rub 50");
    let next = page.bill().await;
    assert_eq!(next["amount"], 5_000);
    assert_ne!(next["event_id"], bill["event_id"]);
}

/// The other side of the same restart: the shell had sent STACK and died before it
/// journaled the bill's 81 (the journal ends with the STACK line). The restarted shell
/// hears that 81 before the unit is identified again, values it with the bill table kept
/// in the journal directory, and credits it.
#[tokio::test(flavor = "multi_thread")]
async fn a_bill_stacked_while_the_shell_was_down_is_credited_after_the_restart() {
    let mut rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    rig.hooks().lose_acks_after_stacked = u32::MAX;
    rig.act("insert-rub 100");
    let first = page.bill().await;
    page.ack(first["event_id"].as_str().unwrap()).await;
    page.drain(Duration::from_millis(300)).await;
    page.close().await;
    rig.stop_terminal().await;
    // What the journal holds when the shell dies between STACK and the 81 of a bill.
    let bills = rig.dir.path().join("journal").join("bills.jsonl");
    let mut text = std::fs::read_to_string(&bills).unwrap();
    text.push_str("{\"stack_sent\":4,\"at\":\"2026-11-26T10:00:00Z\"}\n");
    std::fs::write(&bills, text).unwrap();

    rig.hooks().lose_acks_after_stacked = 0;
    rig.start_terminal().await;
    let mut page = rig.page().await;
    let credited = page.bill().await;
    assert_eq!(credited["amount"], 10_000);
    assert_ne!(credited["event_id"], first["event_id"]);
    assert_eq!(rig.journaled_bills().len(), 2);
}

/// Issue #13: the unit escrows a 10 RUB bill (type 2), is told to STACK it, and reports
/// Bill Stacked of type 7 (5,000 RUB: not enabled, far above the limit). The 81 answers
/// no STACK of ours: a fault with the frames logged, never a credit. The unit goes on,
/// and the next honest bill is credited.
#[tokio::test(flavor = "multi_thread")]
async fn a_bill_stacked_as_another_type_than_escrowed_is_a_fault_not_a_credit() {
    let rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    rig.act("stack-as 7\ninsert-rub 10");
    page.state(
        "fault",
        "unordered bill stacked: type 7 (5000.00 RUB) after STACK of type 2 (10.00 RUB); not credited",
    )
    .await;
    assert!(rig.count(From::Device, &[0x80, 2]) > 0);
    assert_eq!(rig.count_host(STACK), 1);
    // ACKed all the same: the unit is not left repeating it.
    page.state("idle", "ready").await;
    assert!(
        rig.journaled_bills().is_empty(),
        "{:?}",
        rig.journaled_bills()
    );

    rig.act("insert-rub 50");
    let bill = page.bill().await;
    assert_eq!(bill["amount"], 5_000);
    page.drain(Duration::from_millis(300)).await;
    assert_eq!(page.bills().len(), 1, "{:#?}", page.seen);
    assert_eq!(rig.journaled_bills().len(), 1);
}

/// Issue #13: a Bill Stacked out of nowhere — no escrow, no STACK sent — even of a type
/// that is enabled and fits the limit, is a fault and no credit.
#[tokio::test(flavor = "multi_thread")]
async fn an_unsolicited_bill_stacked_is_a_fault_not_a_credit() {
    let rig = Rig::start().await;
    let mut page = rig.enabled_page(1000).await;
    rig.act("stacked 4");
    page.state(
        "fault",
        "unordered bill stacked: type 4 (100.00 RUB) with no STACK sent; not credited",
    )
    .await;
    page.state("idle", "ready").await;
    page.drain(Duration::from_millis(500)).await;
    assert!(page.bills().is_empty(), "{:#?}", page.seen);
    assert!(rig.journaled_bills().is_empty());
    assert_eq!(rig.count_host(STACK), 0);
}

/// Issue #13, checklist 32 on a fresh journal: the unit powers up with a bill in the
/// stacker before this shell ever read its bill table. The recovered 81 comes right after
/// initialization, before the table may be asked for: the bill is journaled as held, then
/// valued and credited once the table is read — once, also after a later re-initialization.
#[tokio::test(flavor = "multi_thread")]
async fn a_bill_recovered_at_power_up_on_an_empty_journal_is_held_then_credited_once() {
    let mut rig = Rig::unstarted(BillTable::russian(), test_config());
    rig.act("power-cycle stacker 4");
    assert!(!rig.dir.path().join("journal").exists(), "no journal yet");
    rig.start_terminal().await;
    let mut page = rig.page().await;
    let bill = page.bill().await;
    assert_eq!(bill["amount"], 10_000);
    let lines = rig.journal_lines("bills.jsonl");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    // Journaled as held (before the ACK of its 81), then valued under the same id.
    assert_eq!(lines[0]["held"]["bill_type"], 4);
    assert_eq!(lines[0]["held"]["event_id"], bill["event_id"]);
    assert_eq!(lines[1]["event_id"], bill["event_id"]);
    assert_eq!(lines[1]["recovered"], true);
    // The 81 came before the table was read.
    let frames = rig.frames();
    let stacked_at = frames
        .iter()
        .position(|f| f.from == From::Device && f.payload == [0x81, 4])
        .unwrap();
    let table_at = frames
        .iter()
        .position(|f| f.from == From::Host && f.payload == [TABLE])
        .unwrap();
    assert!(stacked_at < table_at);
    page.ack(bill["event_id"].as_str().unwrap()).await;

    // Re-initialized (the table read again): still one bill.
    rig.act("cassette out\nwait 500\ncassette in");
    page.state("disabled", "initializing").await;
    page.enable(1000).await;
    page.state("idle", "ready").await;
    page.drain(Duration::from_millis(300)).await;
    assert_eq!(page.bills().len(), 1, "{:#?}", page.seen);
    assert_eq!(rig.journaled_bills().len(), 1);
}

/// The crash window of a held bill: the shell journaled it as held and stopped before
/// the unit got the ACK of its 81. The restarted shell (no bill table kept) hears that
/// 81 again — the held bill, not a new one — and values it once the table is read.
#[tokio::test(flavor = "multi_thread")]
async fn a_held_bill_is_valued_once_after_a_restart() {
    let mut rig = Rig::unstarted(BillTable::russian(), test_config());
    let journal = rig.dir.path().join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    std::fs::write(
        journal.join("bills.jsonl"),
        "{\"held\":{\"event_id\":\"0a0b0c-1-1\",\"bill_type\":4,\"stacked_at\":\"2026-11-26T10:00:00Z\"}}\n",
    )
    .unwrap();
    rig.act("stacked 4");
    rig.start_terminal().await;
    let mut page = rig.page().await;
    let bill = page.bill().await;
    assert_eq!(bill["event_id"], "0a0b0c-1-1");
    assert_eq!(bill["amount"], 10_000);
    page.drain(Duration::from_millis(500)).await;
    assert_eq!(page.bills().len(), 1, "{:#?}", page.seen);
    assert!(rig.count(From::Device, &[0x81, 4]) >= 1);
    let bills = rig.journaled_bills();
    assert_eq!(bills.len(), 1, "{bills:#?}");
    assert_eq!(bills[0]["recovered"], true);
    assert!(
        !page.seen.iter().any(|m| m["state"] == "fault"),
        "{:#?}",
        page.seen
    );
}

/// The bridge lets in only the page kiosk-shell opened: its URL's token and the
/// portal's exact origin. A wrong, a missing or a truncated token, a missing Origin, a
/// foreign one (loopback included) — all refused at the handshake. The simulator's input
/// wants the token too. The URL is in `JOURNAL/bridge-url`, readable by the shell's user
/// only, and a new start makes a new token.
#[tokio::test(flavor = "multi_thread")]
async fn the_bridge_admits_only_its_token_and_the_pages_origin() {
    use std::os::unix::fs::PermissionsExt;
    let mut rig = Rig::start().await;
    let url = rig.bridge_url();
    let file = rig.dir.path().join("journal").join("bridge-url");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), url);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (bare, token) = url.split_once("?token=").unwrap();
    assert!(token.len() >= 32, "{url}");

    // One character off: another first digit (a token may itself start with "0").
    let first_changed = if token.starts_with('0') { '1' } else { '0' };
    let refused = [
        (bare.to_string(), Some(rig::PAGE_ORIGIN)),
        (format!("{bare}?token="), Some(rig::PAGE_ORIGIN)),
        (
            format!("{bare}?token={first_changed}{}", &token[1..]),
            Some(rig::PAGE_ORIGIN),
        ),
        (
            format!("{bare}?token={}", &token[1..]),
            Some(rig::PAGE_ORIGIN),
        ),
        (url.clone(), None),
        (url.clone(), Some("http://evil.example")),
        (url.clone(), Some("http://127.0.0.1:8405")),
        (url.clone(), Some("http://localhost:8404")),
        (url.clone(), Some("null")),
    ];
    for (url, origin) in &refused {
        match Page::connect(url, *origin).await {
            Err(status) => assert_eq!(status, 403, "{url} {origin:?}"),
            Ok(_) => panic!("let in: {url} with Origin {origin:?}"),
        }
    }
    // Nothing reached the driver from them; the right page works.
    let mut page = Page::connect(&url, Some(rig::PAGE_ORIGIN)).await.unwrap();
    page.state("disabled", "").await;
    page.enable(1000).await;
    page.state("idle", "ready").await;

    shared::outbound::install_crypto_provider();
    let http = reqwest::Client::new();
    let sim = format!("http://{}/sim", rig.terminal.as_ref().unwrap().bridge_addr);
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(http.post(&sim).body("insert-rub 100").send().await.unwrap()),
        403
    );
    assert_eq!(
        status(
            http.post(format!("{sim}?token=nope"))
                .body("insert-rub 100")
                .send()
                .await
                .unwrap()
        ),
        403
    );
    // With the token the request gets past the guard (this rig has no simulator).
    assert_eq!(
        status(
            http.post(format!("{sim}?token={token}"))
                .body("insert-rub 100")
                .send()
                .await
                .unwrap()
        ),
        422
    );
    page.drain(Duration::from_millis(300)).await;
    assert!(page.bills().is_empty());

    // A new start, a new token: the old URL is refused.
    page.close().await;
    rig.stop_terminal().await;
    rig.start_terminal().await;
    let new_url = rig.bridge_url();
    assert_ne!(new_url, url);
    let old_with_new_port = format!(
        "ws://{}/ccnet?token={token}",
        rig.terminal.as_ref().unwrap().bridge_addr
    );
    assert_eq!(
        Page::connect(&old_with_new_port, Some(rig::PAGE_ORIGIN))
            .await
            .err(),
        Some(403)
    );
    assert!(
        Page::connect(&new_url, Some(rig::PAGE_ORIGIN))
            .await
            .is_ok()
    );
}

/// The bridge listens within the participants' limits: a local client that never
/// finishes its headers is cut off after the header-read timeout, while the page's
/// WebSocket, once upgraded, outlives the request timeout and keeps working.
#[tokio::test(flavor = "multi_thread")]
async fn a_slowloris_client_on_the_bridge_is_cut_off_and_the_page_stays() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut rig = Rig::unstarted(BillTable::russian(), test_config());
    rig.bridge_limits = shared::serve::ServeLimits {
        header_read_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        ..kiosk_shell::bridge::LIMITS
    };
    rig.start_terminal().await;
    let mut page = rig.page().await;
    page.state("disabled", "").await;

    let bridge = rig.terminal.as_ref().unwrap().bridge_addr;
    let mut slow = tokio::net::TcpStream::connect(bridge).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let mut answered = Vec::new();
    // A bound for a bridge that never cuts it off, not a timing assertion. A reset
    // counts as cut off too.
    let cut_off =
        tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut answered)).await;
    assert!(cut_off.is_ok(), "the bridge kept a half-sent request open");
    let answered = String::from_utf8_lossy(&answered);
    assert!(
        !answered.contains("200 OK"),
        "half a request is never served: {answered}"
    );

    // Connected for well over the request timeout, the page still drives the validator.
    tokio::time::sleep(Duration::from_secs(1)).await;
    page.enable(1000).await;
    page.state("idle", "ready").await;
}
