//! Contract checks against a running provider and over recorded traffic: `evalmock verify`
//! (send the requests the spec and fixtures know, validate the answers), coverage (which
//! operations and declared statuses traffic exercised) and the reports both print (a table,
//! JSON or JUnit XML for CI), which `evalmock check` prints too.

pub mod coverage;
pub mod report;
pub mod verify;
