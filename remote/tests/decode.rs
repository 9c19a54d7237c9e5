//! The codec against hostile and random input: any bytes give a frame, "read
//! more" or an error — never a panic — and every message round-trips.

use proptest::prelude::*;
use treta_remote::{DeviceMap, Frame, Request, Response, Status, MAX_PAYLOAD};

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u16>(), any::<u32>()).prop_map(|(version, capabilities)| Request::Hello {
            version,
            capabilities
        }),
        any::<u64>().prop_map(|addr| Request::Read32 { addr }),
        (any::<u64>(), any::<u32>()).prop_map(|(addr, value)| Request::Write32 { addr, value }),
        any::<u64>().prop_map(|addr| Request::Read64 { addr }),
        (any::<u64>(), any::<u64>()).prop_map(|(addr, value)| Request::Write64 { addr, value }),
        (any::<u64>(), any::<u32>()).prop_map(|(addr, len)| Request::ReadMem { addr, len }),
        (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(addr, data)| Request::WriteMem { addr, data }),
        Just(Request::WaitIrq),
        any::<u64>().prop_map(|timeout_ns| Request::WaitIrqFor { timeout_ns }),
        any::<u64>().prop_map(|ns| Request::Advance { ns }),
        Just(Request::Now),
        Just(Request::Finish),
    ]
}

/// A response with the op of the request it answers.
fn response() -> impl Strategy<Value = (u8, Response)> {
    prop_oneof![
        (any::<u16>(), any::<u32>(), any::<[u64; 4]>()).prop_map(|(version, capabilities, m)| (
            0x01,
            Response::Hello {
                version,
                capabilities,
                map: DeviceMap {
                    regs_base: m[0],
                    regs_size: m[1],
                    dram_base: m[2],
                    dram_size: m[3]
                }
            }
        )),
        any::<u32>().prop_map(|v| (0x10, Response::Value32(v))),
        any::<u64>().prop_map(|v| (0x12, Response::Value64(v))),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| (0x20, Response::Bytes(b))),
        Just((0x11, Response::Done)),
        any::<u64>().prop_map(|t| (0x33, Response::Time(t))),
        (any::<bool>(), any::<u64>())
            .prop_map(|(raised, time_ps)| (0x31, Response::Waited { raised, time_ps })),
        (any::<u64>(), ".{0,40}").prop_map(|(time_ps, report_json)| (
            0x40,
            Response::Summary {
                time_ps,
                report_json
            }
        )),
        ".{0,40}".prop_map(|message| (
            0x10,
            Response::Error {
                status: Status::OutOfMap,
                message
            }
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(Some((frame, used))) = Frame::decode(&bytes) {
            prop_assert!(used <= bytes.len());
            let _ = Request::from_frame(&frame);
            let _ = Response::from_frame(&frame);
        }
    }

    #[test]
    fn a_valid_header_with_random_payload_never_panics(
        kind in 0u8..2,
        op in any::<u8>(),
        status in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        let frame = Frame { kind: if kind == 0 { treta_remote::Kind::Request } else { treta_remote::Kind::Response }, op, status, id: 1, payload };
        let bytes = frame.encode().unwrap();
        let (back, used) = Frame::decode(&bytes).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&back, &frame);
        let _ = Request::from_frame(&back);
        let _ = Response::from_frame(&back);
    }

    #[test]
    fn requests_round_trip(r in request(), id in any::<u32>()) {
        let bytes = r.to_frame(id).encode().unwrap();
        let (frame, used) = Frame::decode(&bytes).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(frame.id, id);
        // A HELLO's magic is checked: every encoded one carries it.
        prop_assert_eq!(Request::from_frame(&frame), Ok(r));
    }

    #[test]
    fn responses_round_trip((op, r) in response(), id in any::<u32>()) {
        let frame = r.to_frame(op, id);
        let (back, _) = Frame::decode(&frame.encode().unwrap()).unwrap().unwrap();
        prop_assert_eq!(Response::from_frame(&back), Ok(r));
    }
}

#[test]
fn wrong_lengths_unknown_ops_and_bad_magic_name_what_was_wrong() {
    let short = Frame::request(0x11, 3, vec![0; 11]);
    let e = Request::from_frame(&short).unwrap_err();
    assert_eq!(e.status(), Status::Malformed);
    assert_eq!(
        e.to_string(),
        "WRITE32: payload of 11 bytes, expected 12 (address, value)"
    );
    let e = Request::from_frame(&Frame::request(0x7f, 3, vec![])).unwrap_err();
    assert_eq!(e.status(), Status::UnknownOp);
    assert_eq!(
        e.to_string(),
        "operation 0x7f is not defined in protocol version 1"
    );
    let mut hello = Request::Hello {
        version: 1,
        capabilities: 0,
    }
    .to_frame(0);
    hello.payload[0] = b'X';
    assert_eq!(
        Request::from_frame(&hello).unwrap_err().status(),
        Status::BadVersion
    );
}

#[test]
fn the_largest_frame_decodes_and_one_byte_more_is_oversized() {
    let data = vec![7u8; MAX_PAYLOAD - 8];
    let bytes = Request::WriteMem { addr: 64, data }
        .to_frame(9)
        .encode()
        .unwrap();
    let (frame, used) = Frame::decode(&bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(frame.payload.len(), MAX_PAYLOAD);
    let mut too_big = bytes[..4].to_vec();
    too_big[..4].copy_from_slice(&((8 + MAX_PAYLOAD + 1) as u32).to_le_bytes());
    assert!(Frame::decode(&too_big).is_err());
    let over = Request::WriteMem {
        addr: 64,
        data: vec![0; MAX_PAYLOAD - 7],
    };
    assert!(
        over.to_frame(1).encode().is_err(),
        "not encoded, not a panic"
    );
}
