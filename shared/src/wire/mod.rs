//! Types and codecs of the links between participants, one module per link.

pub mod agent;
pub mod osmp;
pub mod provider;
