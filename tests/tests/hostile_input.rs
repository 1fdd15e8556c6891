//! Hostile input, property-based (the soak binary runs the same properties
//! with fewer cases and reports them in its table): the config parser, the
//! API's JSON bodies, the display daemon's SSE parser, the counter keypad,
//! malformed requests and forbidden routes. Nothing panics, no 5xx, nothing
//! unauthorized succeeds.

use system_tests::soak::hostile::{
    check_config, check_keypad, check_sse, json_value, malformed, mutate, mutation,
    post_everywhere, property, toml_ish, walk_forbidden, HostileKiosk,
};

use proptest::prelude::*;

#[test]
fn config_parser_never_panics_on_random_text() {
    property(2000, toml_ish(), |text| check_config(&text, false)).unwrap();
}

#[test]
fn mutated_example_config_parses_or_names_a_line() {
    let example = kiosk_config::examples::PHU_XUAN;
    property(2000, mutation(), |m| {
        check_config(&mutate(example, &m), true)
    })
    .unwrap();
}

#[test]
fn sse_parser_never_panics_on_random_bytes() {
    property(
        2000,
        (
            proptest::collection::vec(any::<u8>(), 0..4096),
            any::<usize>(),
        ),
        |(bytes, split)| check_sse(&bytes, split).map(|_| ()),
    )
    .unwrap();
}

#[test]
fn keypad_fires_at_most_once_per_press_and_interval() {
    property(
        1000,
        proptest::collection::vec(any::<bool>(), 0..800),
        |levels| check_keypad(&levels).map(|_| ()),
    )
    .unwrap();
}

#[test]
fn random_json_bodies_never_get_a_5xx() {
    let runtime = system_tests::soak::runtime().unwrap();
    let kiosk = runtime.block_on(HostileKiosk::start()).unwrap();
    let handle = runtime.handle().clone();
    property(60, json_value(), |value| {
        handle
            .block_on(post_everywhere(&kiosk, value.to_string().as_bytes()))
            .map(|_| ())
    })
    .unwrap();
}

#[test]
fn malformed_requests_get_a_4xx_and_forbidden_routes_stay_forbidden() {
    let runtime = system_tests::soak::runtime().unwrap();
    runtime.block_on(async {
        let kiosk = HostileKiosk::start().await.unwrap();
        for (what, status) in malformed(&kiosk).await {
            assert!(
                status == 0 || (400..500).contains(&status),
                "{what}: answered {status}"
            );
        }
        let (tried, allowed) = walk_forbidden(&kiosk).await.unwrap();
        assert!(tried > 50, "only {tried} requests");
        assert!(allowed.is_empty(), "{allowed:#?}");
    });
}
