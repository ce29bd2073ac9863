//! Black-box tests: each starts evalmock in-process on 127.0.0.1 port 0 and talks real HTTP.

mod helpers;

mod any_spec;
mod auth;
mod browser;
mod cli;
mod compare_record;
mod consistency;
mod coverage;
mod cycles;
mod drift;
mod dynamic;
mod faults;
mod fixture_data;
mod fixture_files;
mod hostile;
mod journal;
mod logging;
mod memory;
mod mock_errors;
mod operations;
mod prefer;
mod recording;
mod reload;
mod replay;
mod response_validation;
mod scenarios;
mod shutdown;
mod spec_contract;
mod spec_loading;
mod stream;
mod submit;
mod upstream;
mod validation;
mod verify;
mod versions;
