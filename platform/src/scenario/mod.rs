//! Scenarios: the YAML format ([`types`]), its validated values, and loading with
//! errors that name the file, line and column at fault.

mod lm;
mod load;
mod types;
mod values;

pub use lm::LoadedLm;
pub use load::{load, parse, LoadedScenario, ScenarioError};
pub use types::*;
pub use values::{Bound, Bytes, NonNegative, Positive};

/// The JSON Schema of the scenario format, for editors (`treta-vp schema`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
}
