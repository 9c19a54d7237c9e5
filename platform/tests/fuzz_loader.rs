//! The scenario loader never panics: random text, and random edits of a valid
//! scenario, give either a scenario or an error (run in CI with proptest's default
//! 256 cases per property).

use proptest::prelude::*;
use treta_vp::scenario::parse;

const VALID: &str = include_str!("../../scenarios/command_program.yaml");

proptest! {
    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        let _ = parse(&text, "fuzz.yaml");
    }

    #[test]
    fn random_yaml_like_text_never_panics(text in "[a-z_:{}\\[\\], \\n0-9.-]{0,300}") {
        let _ = parse(&text, "fuzz.yaml");
    }

    #[test]
    fn edits_of_a_valid_scenario_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut bytes = VALID.as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = parse(&text, "fuzz.yaml") {
            prop_assert!(e.to_string().contains("fuzz.yaml"));
        }
    }
}
