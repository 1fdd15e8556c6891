//! Status LEDs over `embedded-hal-mock` pins: each expected write is a
//! transaction, so "only changed pins are written" is checked by `.done()`.

use std::io::ErrorKind;

use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
use embedded_hal_mock::eh1::MockError;
use kiosk::leds::{KioskCondition, Light, LightState, StatusLed, StatusLights};
use kiosk_config::{ActiveLevel, LedPin, StatusLeds};

fn lights(ready: bool, paper_low: bool, fault: bool, closed: bool) -> LightState {
    LightState {
        ready,
        paper_low,
        fault,
        closed,
    }
}

fn condition(
    printer_ready: bool,
    paper_near_end: bool,
    open_now: bool,
    exhausted: bool,
) -> KioskCondition {
    KioskCondition {
        printer_ready,
        paper_near_end,
        open_now,
        any_department_exhausted: exhausted,
    }
}

#[test]
fn lights_follow_the_kiosk_condition() {
    let cases = [
        // ready printer, open: only "ready"
        (
            condition(true, false, true, false),
            lights(true, false, false, false),
        ),
        // paper near end still prints
        (
            condition(true, true, true, false),
            lights(true, true, false, false),
        ),
        // printer fault: not ready
        (
            condition(false, false, true, false),
            lights(false, false, true, false),
        ),
        // paper out after near-end: both lit
        (
            condition(false, true, true, false),
            lights(false, true, true, false),
        ),
        // outside opening hours
        (
            condition(true, false, false, false),
            lights(false, false, false, true),
        ),
        // one department exhausted: others still issue
        (
            condition(true, false, true, true),
            lights(true, false, false, true),
        ),
        // closed and faulty
        (
            condition(false, false, false, false),
            lights(false, false, true, true),
        ),
    ];
    for (condition, expected) in cases {
        assert_eq!(LightState::for_kiosk(&condition), expected, "{condition:?}");
    }
}

fn led(mock: &Mock, active: ActiveLevel) -> Option<StatusLed<Mock>> {
    Some(StatusLed {
        pin: mock.clone(),
        active,
    })
}

#[test]
fn first_show_writes_every_led_then_only_changes() {
    let mut ready = Mock::new(&[Transaction::set(State::High), Transaction::set(State::Low)]);
    let mut paper_low = Mock::new(&[Transaction::set(State::Low)]);
    let mut fault = Mock::new(&[Transaction::set(State::Low), Transaction::set(State::High)]);
    let mut closed = Mock::new(&[Transaction::set(State::Low)]);
    let mut status = StatusLights::new(
        led(&ready, ActiveLevel::High),
        led(&paper_low, ActiveLevel::High),
        led(&fault, ActiveLevel::High),
        led(&closed, ActiveLevel::High),
    );
    let ok = lights(true, false, false, false);
    assert_eq!(status.show(ok), 0);
    assert_eq!(status.show(ok), 0, "unchanged: nothing written");
    assert_eq!(status.shown(), ok);
    let faulty = lights(false, false, true, false);
    assert_eq!(status.show(faulty), 0);
    assert_eq!(status.show(faulty), 0);
    assert_eq!(status.shown(), faulty);
    for mock in [&mut ready, &mut paper_low, &mut fault, &mut closed] {
        mock.done();
    }
}

#[test]
fn active_low_leds_are_lit_by_driving_low() {
    let mut ready = Mock::new(&[Transaction::set(State::Low), Transaction::set(State::High)]);
    let mut status = StatusLights::new(led(&ready, ActiveLevel::Low), None, None, None);
    status.show(lights(true, false, false, false));
    status.show(LightState::OFF);
    ready.done();
}

#[test]
fn lights_not_fitted_are_skipped() {
    let mut closed = Mock::new(&[Transaction::set(State::High)]);
    let mut status = StatusLights::new(None, None, None, led(&closed, ActiveLevel::High));
    assert_eq!(status.show(lights(true, true, true, true)), 0);
    assert_eq!(status.shown(), lights(false, false, false, true));
    closed.done();
}

#[test]
fn a_failed_write_is_reported_and_retried_at_the_next_show() {
    let mut fault = Mock::new(&[
        Transaction::set(State::High).with_error(MockError::Io(ErrorKind::Other)),
        // Same state requested again: written again because the last failed.
        Transaction::set(State::High),
    ]);
    let mut status = StatusLights::new(None, None, led(&fault, ActiveLevel::High), None);
    let state = lights(false, false, true, false);
    assert_eq!(status.show(state), 1);
    assert!(!status.shown().fault);
    assert_eq!(status.show(state), 0);
    assert!(status.shown().fault);
    assert_eq!(status.show(state), 0, "now known: not written");
    fault.done();
}

#[test]
fn from_config_opens_only_the_configured_lights() {
    let config = StatusLeds {
        ready: Some(LedPin {
            pin: 5,
            active: ActiveLevel::High,
        }),
        paper_low: None,
        fault: Some(LedPin {
            pin: 6,
            active: ActiveLevel::Low,
        }),
        closed: None,
    };
    let mut ready = Mock::new(&[Transaction::set(State::High)]);
    let mut fault = Mock::new(&[Transaction::set(State::High)]);
    let mut opened = Vec::new();
    let mut status = StatusLights::from_config(&config, |light, pin| {
        opened.push((light, pin.pin));
        Ok::<_, std::convert::Infallible>(match light {
            Light::Ready => ready.clone(),
            _ => fault.clone(),
        })
    })
    .unwrap();
    assert_eq!(opened, vec![(Light::Ready, 5), (Light::Fault, 6)]);
    // Ready lit (high), fault off (active-low: high).
    status.show(lights(true, false, false, false));
    let [r, p, f, c] = status.into_pins();
    assert!(r.is_some() && p.is_none() && f.is_some() && c.is_none());
    ready.done();
    fault.done();
}
