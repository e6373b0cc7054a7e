//! paymesh's integration tests, one binary (one link) for all of them:
//!
//! * in-process: each role's real router on `127.0.0.1:0` with a temp data directory;
//! * processes: the real `paymesh` binary started as a child;
//! * browser: headless Chromium (through chromedriver) on a served portal;
//! * windows: `paymesh <role> --window` under Xvfb, checked by screenshot.

mod helpers;
// Shared with kiosk-shell's window tests: one copy of the Xvfb display, the screenshots,
// the process groups and the process-tree reading.
#[path = "../kiosk-shell/tests/support/proc_tree.rs"]
mod proc_tree;
#[path = "../kiosk-shell/tests/support/xvfb.rs"]
mod xvfb;

mod agent;
mod agent_payment_detail;
mod audit_staff;
mod auth_matrix;
mod bench_tool;
mod browser;
mod cash;
mod cashbox;
mod chaos_tool;
mod consumer;
mod dashboards;
mod data_dir;
mod demo;
mod fields;
mod forged_answers;
mod group_commit;
mod health;
mod kiosk_fields;
mod kiosk_shell;
mod language;
mod lifecycle;
mod local_days;
mod payment_detail;
mod pg_run;
mod postgres;
mod processes;
mod processing;
mod provider;
mod reports;
mod scale_out;
mod tables;
mod thresholds;
mod tls;
mod window;
