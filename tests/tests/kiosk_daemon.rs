//! The kiosk daemon end to end: simulated buttons → the real press pipeline
//! → the `emupos` printer emulator on loopback; paper out consumes no
//! number, lights the fault LED, and the kiosk recovers by itself.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use embedded_hal::digital::{ErrorType, OutputPin};
use kiosk::app::{PressOutcome, Refusal};
use kiosk::buttons::{ButtonInput, ButtonPanel, ButtonWiring, DebounceSettings, SimulatedButton};
use kiosk::daemon::api_state;
use kiosk::daemon::{open_app, run, Hardware};
use kiosk::demo::demo_config;
use kiosk::leds::{StatusLed, StatusLights};
use kiosk_config::{ActiveLevel, PrinterTransport};
use queue_store::clock::SystemClock;
use system_tests::emupos::Emulator;

const DEADLINE: Duration = Duration::from_secs(10);

/// An LED whose state the test reads.
#[derive(Clone, Default)]
struct TestLed(Arc<AtomicBool>);

impl ErrorType for TestLed {
    type Error = Infallible;
}

impl OutputPin for TestLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.store(false, Ordering::SeqCst);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Waits for `condition` with a deadline, checking every few milliseconds.
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits for the emulator's `count`-th receipt and returns its height in dots.
fn receipt_height(emulator: &Emulator, count: usize) -> u32 {
    tokio::task::block_in_place(|| emulator.receipt(count).0.height())
}

/// Holds a simulated button until the poller has read it pressed for longer
/// than the debounce, then lets it go and waits until it read it released.
async fn press(button: &SimulatedButton) {
    // The poller's first stable level never counts as a press: let it see
    // the button released first.
    let reads = button.reads();
    wait_for("the poller to read the released button", || {
        button.reads() >= reads + 10
    })
    .await;
    button.press();
    let reads = button.reads();
    wait_for("the poller to read the pressed button", || {
        button.reads() >= reads + 10
    })
    .await;
    button.release();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presses_print_and_paper_out_consumes_no_number() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::start();
    let mut config = demo_config(dir.path(), "127.0.0.1:0".parse().unwrap()).unwrap();
    config.kiosk.printer.transport = PrinterTransport::Tcp {
        host: "127.0.0.1".into(),
        port: emulator.printer_port,
    };
    config.kiosk.printer.status_interval = Duration::from_millis(50);
    config.kiosk.press_interval = Duration::from_millis(100);
    let config = Arc::new(config);
    let first = config.departments[0].clone();

    let transport = ticket_printer::open(&config.kiosk.printer).unwrap();
    let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock)).unwrap();
    let button = SimulatedButton::new();
    let wiring = ButtonWiring::from_departments(std::slice::from_ref(&first))
        .into_iter()
        .find(|w| !w.priority)
        .unwrap();
    let buttons = ButtonPanel::new(
        vec![ButtonInput {
            pin: button.clone(),
            wiring,
        }],
        DebounceSettings::with_press_interval(config.kiosk.press_interval),
    );
    let (ready, fault) = (TestLed::default(), TestLed::default());
    let led = |pin: &TestLed| {
        Some(StatusLed {
            pin: pin.clone(),
            active: ActiveLevel::High,
        })
    };
    let lights = StatusLights::new(led(&ready), None, led(&fault), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = api_state(&app, &config, None).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(
        app.clone(),
        Hardware { buttons, lights },
        listener,
        api,
        axum::Router::new(),
        async {
            let _ = stopped.await;
        },
    ));

    // A press prints a ticket with the department's first number.
    wait_for("the ready LED", || ready.0.load(Ordering::SeqCst)).await;
    press(&button).await;
    assert!(
        receipt_height(&emulator, 1) > 300,
        "a whole ticket reached the printer"
    );
    let label = |n: u32| first.block.label(n);
    let printed = |app: &kiosk::app::App| app.store().snapshot().departments[0].issued_today;
    assert_eq!(printed(&app), 1);

    // Paper out: the fault LED lights, a press consumes no number.
    emulator.set_fault("paper-out", true);
    wait_for("the fault LED", || fault.0.load(Ordering::SeqCst)).await;
    assert!(
        !ready.0.load(Ordering::SeqCst),
        "ready LED off while the paper is out"
    );
    match app.press(&first.id, false).await {
        PressOutcome::Refused(Refusal::PrinterNotReady { label, .. }) => {
            assert_eq!(label, "paper_out")
        }
        other => panic!("a press with the paper out must be refused, got {other:?}"),
    }
    assert_eq!(
        printed(&app),
        1,
        "no number consumed while the paper is out"
    );
    assert_eq!(
        emulator.receipt_count(),
        1,
        "nothing printed while the paper is out"
    );

    // Paper back: the kiosk recovers by itself and the next number follows on.
    emulator.set_fault("paper-out", false);
    wait_for("the fault LED to go out", || {
        !fault.0.load(Ordering::SeqCst)
    })
    .await;
    press(&button).await;
    receipt_height(&emulator, 2);
    let snapshot = app.store().snapshot();
    assert_eq!(snapshot.departments[0].issued_today, 2);
    let events = match app.store().events_since(0, 1000).unwrap() {
        queue_store::store::EventsSince::Events(events) => events,
        other => panic!("{other:?}"),
    };
    let labels: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            queue_protocol::EventKind::TicketIssued { label, .. } => Some(label.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        labels,
        vec![label(first.block.first), label(first.block.first + 1)]
    );
    assert!(events.iter().any(|e| matches!(&e.kind, queue_protocol::EventKind::Fault { kind, .. } if kind == "printer_paper_out")));
    assert!(events.iter().any(|e| matches!(&e.kind, queue_protocol::EventKind::FaultCleared { kind } if kind == "printer_paper_out")));

    stop.send(()).unwrap();
    daemon.await.unwrap().unwrap();
}
