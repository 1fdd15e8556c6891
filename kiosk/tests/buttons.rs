//! Buttons driven through `embedded-hal-mock` pins with a fake clock: every
//! pin read is an expected transaction, and each test ends with `.done()` so
//! a read too many or too few fails it.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
use embedded_hal_mock::eh1::MockError;
use kiosk::buttons::{
    ButtonInput, ButtonPanel, ButtonPoller, ButtonPress, ButtonWiring, DebounceSettings,
    SimulatedButton,
};
use kiosk_config::{ActiveLevel, ButtonPin, Department, DepartmentId, Exhaustion, NumberBlock};

/// Poll period of the fake clock.
const STEP: u64 = 5;

fn settings(press_interval_ms: u64) -> DebounceSettings {
    DebounceSettings {
        poll_every: Duration::from_millis(STEP),
        stable: Duration::from_millis(20),
        press_interval: Duration::from_millis(press_interval_ms),
    }
}

/// What a button does over time, one entry per poll round.
#[derive(Clone)]
struct Wave {
    /// The pin's wiring.
    active: ActiveLevel,
    /// Pressed or not, per round.
    pressed: Vec<bool>,
}

impl Wave {
    fn new(active: ActiveLevel) -> Self {
        Self {
            active,
            pressed: Vec::new(),
        }
    }

    fn hold(mut self, pressed: bool, ms: u64) -> Self {
        let rounds = usize::try_from(ms / STEP).unwrap();
        self.pressed.extend(std::iter::repeat_n(pressed, rounds));
        self
    }

    fn up(self, ms: u64) -> Self {
        self.hold(false, ms)
    }

    fn down(self, ms: u64) -> Self {
        self.hold(true, ms)
    }

    /// Contact chatter: `cycles` times one round pressed, one released.
    fn chatter(mut self, cycles: usize) -> Self {
        for _ in 0..cycles {
            self = self.down(STEP).up(STEP);
        }
        self
    }

    fn transactions(&self, rounds: usize) -> Vec<Transaction> {
        let level = |pressed: bool| match (self.active, pressed) {
            (ActiveLevel::High, true) | (ActiveLevel::Low, false) => State::High,
            (ActiveLevel::High, false) | (ActiveLevel::Low, true) => State::Low,
        };
        let padded = self.pressed.iter().copied().chain(std::iter::repeat(false));
        padded
            .take(rounds)
            .map(|p| Transaction::get(level(p)))
            .collect()
    }
}

fn wiring(department: &str, priority: bool, pin: u8, active: ActiveLevel) -> ButtonWiring {
    ButtonWiring {
        department: DepartmentId(department.into()),
        priority,
        pin: ButtonPin { pin, active },
    }
}

fn department(id: &str, button: Option<u8>, priority_button: Option<u8>) -> Department {
    let pin = |pin| ButtonPin {
        pin,
        active: ActiveLevel::Low,
    };
    Department {
        id: DepartmentId(id.into()),
        name: "Hộ tịch".into(),
        block: NumberBlock {
            first: 1001,
            last: 1999,
            prefix: None,
            digits: 4,
            on_exhausted: Exhaustion::Refuse,
        },
        daily_cap: None,
        sessions: None,
        priority: priority_button.is_some(),
        button: button.map(pin),
        priority_button: priority_button.map(pin),
        target_wait: None,
        services: Vec::new(),
    }
}

/// Run the panel over mock pins playing `waves` (padded with "released" to
/// the longest) and return each accepted press with its time. Checks every
/// mock's expectations were all consumed.
fn play(buttons: &[(ButtonWiring, Wave)], interval_ms: u64) -> Vec<(u64, ButtonPress)> {
    let rounds = buttons
        .iter()
        .map(|(_, w)| w.pressed.len())
        .max()
        .unwrap_or(0);
    let mut mocks: Vec<Mock> = buttons
        .iter()
        .map(|(_, wave)| Mock::new(&wave.transactions(rounds)))
        .collect();
    let inputs = buttons
        .iter()
        .zip(&mocks)
        .map(|((wiring, _), mock)| ButtonInput {
            pin: mock.clone(),
            wiring: wiring.clone(),
        })
        .collect();
    let mut panel = ButtonPanel::new(inputs, settings(interval_ms));
    let mut presses = Vec::new();
    for round in 0..rounds {
        let now = u64::try_from(round).unwrap() * STEP;
        presses.extend(panel.poll(now).into_iter().map(|p| (now, p)));
    }
    for mock in &mut mocks {
        mock.done();
    }
    presses
}

fn press(department: &str, priority: bool) -> ButtonPress {
    ButtonPress {
        department: DepartmentId(department.into()),
        priority,
    }
}

#[test]
fn clean_press_gives_one_press_after_the_debounce_time() {
    let wave = Wave::new(ActiveLevel::Low).up(100).down(100).up(100);
    let presses = play(
        &[(wiring("ho-tich", false, 17, ActiveLevel::Low), wave)],
        1000,
    );
    // Pressed from 100 ms, stable for 20 ms.
    assert_eq!(presses, vec![(120, press("ho-tich", false))]);
}

#[test]
fn chatter_on_press_and_release_gives_one_press() {
    let wave = Wave::new(ActiveLevel::Low)
        .up(100)
        .chatter(4)
        .down(150)
        .chatter(4)
        .up(200);
    let presses = play(&[(wiring("ho-tich", false, 17, ActiveLevel::Low), wave)], 0);
    assert_eq!(presses.len(), 1, "{presses:?}");
}

#[test]
fn chatter_alone_gives_no_press() {
    let wave = Wave::new(ActiveLevel::Low).up(100).chatter(20).up(100);
    let presses = play(&[(wiring("ho-tich", false, 17, ActiveLevel::Low), wave)], 0);
    assert!(presses.is_empty(), "{presses:?}");
}

#[test]
fn button_held_for_ten_seconds_gives_one_press() {
    let wave = Wave::new(ActiveLevel::Low).up(50).down(10_000).up(100);
    let presses = play(&[(wiring("dat-dai", false, 22, ActiveLevel::Low), wave)], 0);
    assert_eq!(presses, vec![(70, press("dat-dai", false))]);
}

#[test]
fn hammering_faster_than_the_interval_gives_one_press_per_interval() {
    let mut wave = Wave::new(ActiveLevel::Low).up(50);
    // Ten clean presses a second for three seconds.
    for _ in 0..30 {
        wave = wave.down(50).up(50);
    }
    let presses = play(
        &[(wiring("ho-tich", false, 17, ActiveLevel::Low), wave)],
        1000,
    );
    let times: Vec<u64> = presses.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![70, 1070, 2070]);
}

#[test]
fn the_interval_is_per_button() {
    let a = Wave::new(ActiveLevel::Low).up(50).down(50).up(50);
    let b = Wave::new(ActiveLevel::Low).up(100).down(50).up(50);
    let presses = play(
        &[
            (wiring("ho-tich", false, 17, ActiveLevel::Low), a),
            (wiring("dat-dai", false, 22, ActiveLevel::Low), b),
        ],
        5000,
    );
    assert_eq!(
        presses,
        vec![
            (70, press("ho-tich", false)),
            (120, press("dat-dai", false))
        ]
    );
}

#[test]
fn two_buttons_pressed_together_give_a_press_each() {
    let wave = Wave::new(ActiveLevel::Low).up(50).down(100).up(50);
    let presses = play(
        &[
            (wiring("ho-tich", false, 17, ActiveLevel::Low), wave.clone()),
            (wiring("dat-dai", false, 22, ActiveLevel::Low), wave),
        ],
        1000,
    );
    assert_eq!(
        presses,
        vec![(70, press("ho-tich", false)), (70, press("dat-dai", false))]
    );
}

#[test]
fn priority_button_from_the_config_gives_a_priority_press() {
    let ordinary = Wave::new(ActiveLevel::Low).up(300);
    let priority = Wave::new(ActiveLevel::Low).up(100).down(100).up(100);
    let mut mocks = [
        Mock::new(&ordinary.transactions(60)),
        Mock::new(&priority.transactions(60)),
    ];
    let mut opened = Vec::new();
    let departments = [department("ho-tich", Some(17), Some(27))];
    let mut panel = ButtonPanel::from_config(&departments, settings(1000), |w| {
        opened.push((w.pin.pin, w.priority));
        let mock = if w.priority { &mocks[1] } else { &mocks[0] };
        Ok::<_, std::convert::Infallible>(mock.clone())
    })
    .unwrap();
    assert_eq!(opened, vec![(17, false), (27, true)]);
    let mut presses = Vec::new();
    for round in 0..60 {
        presses.extend(panel.poll(round * STEP));
    }
    assert_eq!(presses, vec![press("ho-tich", true)]);
    for mock in &mut mocks {
        mock.done();
    }
}

#[test]
fn wiring_lists_every_configured_button_in_department_order() {
    let departments = [
        department("a", Some(5), None),
        department("b", None, None),
        department("c", Some(6), Some(13)),
    ];
    let listed: Vec<(String, bool, u8)> = ButtonWiring::from_departments(&departments)
        .into_iter()
        .map(|w| (w.department.0, w.priority, w.pin.pin))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("a".into(), false, 5),
            ("c".into(), false, 6),
            ("c".into(), true, 13)
        ]
    );
}

#[test]
fn a_pin_that_fails_to_open_fails_the_panel() {
    let departments = [
        department("a", Some(5), None),
        department("b", Some(6), None),
    ];
    let result = ButtonPanel::<Mock>::from_config(&departments, settings(0), |w| {
        Err(format!("pin {} busy", w.pin.pin))
    });
    assert_eq!(result.unwrap_err(), "pin 5 busy");
}

#[test]
fn active_high_wiring_presses_on_high() {
    let wave = Wave::new(ActiveLevel::High).up(100).down(100).up(100);
    let transactions = wave.transactions(60);
    // The wave really is high while pressed.
    assert_eq!(transactions[25], Transaction::get(State::High));
    assert_eq!(transactions[0], Transaction::get(State::Low));
    let presses = play(
        &[(wiring("ho-tich", false, 17, ActiveLevel::High), wave)],
        1000,
    );
    assert_eq!(presses, vec![(120, press("ho-tich", false))]);
}

#[test]
fn wrong_active_level_never_presses_while_idle() {
    // An active-high button configured as active-low reads "pressed" from
    // the start: no ticket, however long it sits there.
    let wave = Wave::new(ActiveLevel::High).up(2000);
    let presses = play(&[(wiring("ho-tich", false, 17, ActiveLevel::Low), wave)], 0);
    assert!(presses.is_empty());
}

#[test]
fn read_errors_count_as_released_and_do_not_stop_the_panel() {
    let err = || MockError::Io(ErrorKind::Other);
    let mut transactions = Wave::new(ActiveLevel::Low).up(50).transactions(10);
    // A press during which the pin fails to read: never stable, no press.
    transactions.extend(std::iter::repeat_n(Transaction::get(State::Low), 3));
    transactions.push(Transaction::get(State::Low).with_error(err()));
    transactions.extend(std::iter::repeat_n(Transaction::get(State::Low), 3));
    transactions.extend(std::iter::repeat_n(
        Transaction::get(State::Low).with_error(err()),
        10,
    ));
    transactions.extend(std::iter::repeat_n(Transaction::get(State::High), 10));
    // Then a clean press.
    transactions.extend(std::iter::repeat_n(Transaction::get(State::Low), 10));
    let rounds = transactions.len();
    let mut mock = Mock::new(&transactions);
    let inputs = vec![ButtonInput {
        pin: mock.clone(),
        wiring: wiring("ho-tich", false, 17, ActiveLevel::Low),
    }];
    let mut panel = ButtonPanel::new(inputs, settings(0));
    let mut presses = Vec::new();
    for round in 0..rounds {
        let now = u64::try_from(round).unwrap() * STEP;
        presses.extend(panel.poll(now).into_iter().map(|p| (now, p)));
    }
    let clean_start = u64::try_from(rounds - 10).unwrap() * STEP;
    assert_eq!(presses, vec![(clean_start + 20, press("ho-tich", false))]);
    mock.done();
}

/// Wait until the poller has read the released button long enough for its
/// first stable level (the first stable level never counts as a press).
fn wait_until_settled(button: &SimulatedButton) {
    let needed = 20 / STEP + 1;
    let deadline = Instant::now() + Duration::from_secs(10);
    while button.reads() < needed {
        assert!(Instant::now() < deadline, "poller is not reading the pin");
        std::thread::yield_now();
    }
}

/// Wait for the next press with a deadline, without blocking the runtime.
async fn next_press(rx: &mut tokio::sync::mpsc::Receiver<ButtonPress>) -> ButtonPress {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no press within 10 s")
        .expect("poller ended")
}

#[tokio::test]
async fn poller_thread_sends_presses_and_stops_on_shutdown() {
    let button = SimulatedButton::new();
    let panel = ButtonPanel::new(
        vec![ButtonInput {
            pin: button.clone(),
            wiring: wiring("ho-tich", true, 17, ActiveLevel::High),
        }],
        settings(0),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let shutdown = Arc::new(AtomicBool::new(false));
    let poller = ButtonPoller::spawn(panel, tx, shutdown.clone()).unwrap();
    wait_until_settled(&button);

    button.press();
    assert_eq!(next_press(&mut rx).await, press("ho-tich", true));
    button.release();

    shutdown.store(true, Ordering::SeqCst);
    tokio::task::spawn_blocking(move || poller.join())
        .await
        .unwrap();
    // The thread dropped its sender: the channel is closed and empty.
    assert_eq!(rx.recv().await, None);
}

#[test]
fn poller_thread_stops_when_the_kiosk_drops_the_receiver() {
    let button = SimulatedButton::new();
    let panel = ButtonPanel::new(
        vec![ButtonInput {
            pin: button.clone(),
            wiring: wiring("ho-tich", false, 17, ActiveLevel::High),
        }],
        settings(0),
    );
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    drop(rx);
    let poller = ButtonPoller::spawn(panel, tx, Arc::new(AtomicBool::new(false))).unwrap();
    // The thread notices the closed channel when it has a press to send.
    wait_until_settled(&button);
    button.press();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !poller.is_finished() {
        assert!(Instant::now() < deadline, "poller still running");
        std::thread::yield_now();
    }
    poller.join();
}
