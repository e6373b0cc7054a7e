//! The simulator's script language: one action per line, `#` starts a comment.
//!
//! ```text
//! insert 5            a bill of type 5 (500 RUB in the Russian table)
//! insert-rub 500      the bill type worth 500 roubles
//! reject 65           a bill the unit refuses (reason, hex; default 65 identification)
//! jam | cassette-jam | full | fail 50 | cheat | pause
//! cassette out | cassette in | clear
//! power-cycle [head | stacker TYPE]
//! stack-as 7          report the next bill it stacks as type 7, whatever was escrowed
//! stacked 4           report Bill Stacked of type 4 now: no bill, no escrow, no STACK
//! corrupt-crc         spoil the CRC of the next reply
//! busy 3              answer "busy" (1B 03) for 300 ms
//! silent 6000         answer nothing for 6 s
//! table rub | table 2=10,3=50,4=100 …
//! ignore-enable on|off
//! wait 500            pause the script (ms)
//! ```

use std::time::Duration;

use shared::money::Kopecks;

use super::bill_table::BillTable;
use super::sim::BillAtPowerLoss;

/// One thing to do to the simulated unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Insert(u8),
    InsertValue(Kopecks),
    Reject(u8),
    Jam,
    CassetteJam,
    CassetteFull,
    Failure(u8),
    CassetteOut,
    CassetteIn,
    Clear,
    Cheat,
    Pause,
    PowerCycle(BillAtPowerLoss),
    /// A lying (or tampered) unit: the next bill stacked is reported as this type.
    StackAs(u8),
    /// A Bill Stacked of this type out of nowhere.
    Stacked(u8),
    CorruptCrc,
    Busy(u8),
    Silent(Duration),
    Table(BillTable),
    IgnoreEnable(bool),
    Wait(Duration),
}

/// A line that is not an action, with its number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("script line {line}: {message}")]
pub struct ScriptError {
    pub line: usize,
    pub message: String,
}

/// Parses a whole script.
pub fn parse(text: &str) -> Result<Vec<Action>, ScriptError> {
    let mut actions = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        actions.push(parse_line(line).map_err(|message| ScriptError {
            line: i + 1,
            message,
        })?);
    }
    Ok(actions)
}

/// Parses one line.
pub fn parse_line(line: &str) -> Result<Action, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arg = |n: usize| -> Result<&str, String> {
        words
            .get(n)
            .copied()
            .ok_or_else(|| format!("`{}` needs an argument", words[0]))
    };
    let number = |n: usize| -> Result<u64, String> {
        arg(n)?
            .parse::<u64>()
            .map_err(|_| format!("`{}` is not a number", words[n]))
    };
    let hex = |n: usize, default: u8| -> Result<u8, String> {
        match words.get(n) {
            None => Ok(default),
            Some(w) => u8::from_str_radix(w.trim_start_matches("0x"), 16)
                .map_err(|_| format!("`{w}` is not a hex byte")),
        }
    };
    let bill_type = |n: usize| -> Result<u8, String> {
        let t = number(n)?;
        u8::try_from(t)
            .ok()
            .filter(|t| *t < 24)
            .ok_or_else(|| format!("bill type {t} is not 0..23"))
    };
    Ok(match words.first().copied().unwrap_or("") {
        "insert" => Action::Insert(bill_type(1)?),
        "insert-rub" => {
            let rubles = i64::try_from(number(1)?).map_err(|_| "too large".to_string())?;
            Action::InsertValue(
                Kopecks::from_rubles(rubles).ok_or_else(|| "too large".to_string())?,
            )
        }
        "reject" => Action::Reject(hex(1, 0x65)?),
        "jam" => Action::Jam,
        "cassette-jam" => Action::CassetteJam,
        "full" => Action::CassetteFull,
        "fail" => Action::Failure(hex(1, 0x50)?),
        "cheat" => Action::Cheat,
        "pause" => Action::Pause,
        "clear" => Action::Clear,
        "cassette" => match arg(1)? {
            "out" => Action::CassetteOut,
            "in" => Action::CassetteIn,
            other => return Err(format!("`cassette {other}`: say `out` or `in`")),
        },
        "power-cycle" => match words.get(1).copied() {
            None => Action::PowerCycle(BillAtPowerLoss::None),
            Some("head") => Action::PowerCycle(BillAtPowerLoss::Head),
            Some("stacker") => Action::PowerCycle(BillAtPowerLoss::Stacker(bill_type(2)?)),
            Some(other) => {
                return Err(format!(
                    "`power-cycle {other}`: say `head` or `stacker TYPE`"
                ));
            }
        },
        "stack-as" => Action::StackAs(bill_type(1)?),
        "stacked" => Action::Stacked(bill_type(1)?),
        "corrupt-crc" => Action::CorruptCrc,
        "busy" => Action::Busy(u8::try_from(number(1)?).map_err(|_| "busy is 0..255".to_string())?),
        "silent" => Action::Silent(Duration::from_millis(number(1)?)),
        "wait" => Action::Wait(Duration::from_millis(number(1)?)),
        "ignore-enable" => Action::IgnoreEnable(match arg(1)? {
            "on" => true,
            "off" => false,
            other => return Err(format!("`ignore-enable {other}`: say `on` or `off`")),
        }),
        "table" => Action::Table(parse_table(arg(1)?)?),
        other => return Err(format!("unknown action `{other}`")),
    })
}

fn parse_table(spec: &str) -> Result<BillTable, String> {
    if spec == "rub" {
        return Ok(BillTable::russian());
    }
    let mut pairs = Vec::new();
    for item in spec.split(',') {
        let (t, rub) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}`: write TYPE=ROUBLES"))?;
        let t: u8 = t
            .parse()
            .ok()
            .filter(|t| *t < 24)
            .ok_or_else(|| format!("bill type `{t}` is not 0..23"))?;
        let rub: i64 = rub
            .parse()
            .ok()
            .filter(|r| *r > 0 && *r <= 1_000_000)
            .ok_or_else(|| format!("`{rub}` is not a banknote value in roubles"))?;
        pairs.push((t, rub));
    }
    Ok(BillTable::from_rubles(&pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_script() {
        let script = "# a session\ninsert 5\ninsert-rub 100\nwait 250 # breathe\npower-cycle stacker 4\ntable 2=100,3=10\nreject\nfail 5f\nstack-as 7\nstacked 4\n";
        let actions = parse(script).unwrap();
        assert_eq!(actions[0], Action::Insert(5));
        assert_eq!(actions[1], Action::InsertValue(Kopecks::new(10_000)));
        assert_eq!(actions[2], Action::Wait(Duration::from_millis(250)));
        assert_eq!(actions[3], Action::PowerCycle(BillAtPowerLoss::Stacker(4)));
        assert_eq!(actions[5], Action::Reject(0x65));
        assert_eq!(actions[6], Action::Failure(0x5F));
        assert_eq!(actions[7], Action::StackAs(7));
        assert_eq!(actions[8], Action::Stacked(4));
        assert!(parse("stacked 24").is_err());
        let err = parse("insert 5\ninsert 40\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse("dance").is_err());
    }
}
