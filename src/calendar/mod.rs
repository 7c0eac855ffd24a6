//! The office calendar: which days a site is open and in which hours. So far only the Japanese
//! national holidays ([`holidays`]).

pub mod holidays;
