//! The CCNET (CashCode NET) bill-validator protocol, ../shared/spec/ccnet.md.

pub mod frame;
