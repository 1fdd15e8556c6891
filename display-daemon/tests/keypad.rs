//! The keypad rule (debounce, press edge, one action per interval) on
//! embedded-hal mock pins, and the confirmation LED.

use std::time::{Duration, Instant};

use display_daemon::keypad::{ConfirmLed, KeyRule, KeypadAction, KeypadReader};
use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
use kiosk_config::ActiveLevel;

const MS: Duration = Duration::from_millis(1);

/// Reads `levels` (one per 5 ms poll) from an active-low key; returns the
/// poll indexes at which the key fired.
fn fire_times(levels: &[State], rule: KeyRule) -> Vec<usize> {
    let expectations: Vec<Transaction> = levels.iter().map(|s| Transaction::get(*s)).collect();
    let pin = Mock::new(&expectations);
    let mut reader = KeypadReader::new(rule);
    reader.add_key(KeypadAction::Next, pin, ActiveLevel::Low);
    let start = Instant::now();
    let mut fired = Vec::new();
    for i in 0..levels.len() {
        let actions = reader.poll(start + 5 * MS * i as u32).unwrap();
        assert!(actions.iter().all(|a| *a == KeypadAction::Next));
        if !actions.is_empty() {
            fired.push(i);
        }
    }
    for mut pin in reader.into_pins() {
        pin.done();
    }
    fired
}

use State::{High as Up, Low as Down};

#[test]
fn a_clean_press_fires_once_after_the_debounce() {
    let mut levels = vec![Up; 3];
    levels.extend([Down; 20]);
    levels.extend([Up; 5]);
    // Pressed from poll 3; stable for 20 ms at poll 7.
    assert_eq!(fire_times(&levels, KeyRule::default()), vec![7]);
}

#[test]
fn bounce_and_holding_give_one_action() {
    let levels = [
        Up, Down, Up, Down, Up, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down, Down,
        Up, Down, Up, Up, Up, Up, Up,
    ];
    assert_eq!(fire_times(&levels, KeyRule::default()), vec![9]);
}

#[test]
fn hammering_gives_at_most_one_action_per_interval() {
    // Clean presses of 25 ms every 50 ms for one second.
    let mut levels = Vec::new();
    for _ in 0..20 {
        levels.extend([Down; 5]);
        levels.extend([Up; 5]);
    }
    let fired = fire_times(&levels, KeyRule::default());
    assert!(fired.len() >= 2 && fired.len() <= 3, "{fired:?}");
    for pair in fired.windows(2) {
        assert!((pair[1] - pair[0]) * 5 >= 500, "{fired:?}");
    }
}

#[test]
fn active_high_key() {
    let pin = Mock::new(&[
        Transaction::get(State::High),
        Transaction::get(State::High),
        Transaction::get(State::High),
        Transaction::get(State::High),
        Transaction::get(State::High),
    ]);
    let mut reader = KeypadReader::new(KeyRule {
        debounce: 10 * MS,
        min_interval: 100 * MS,
    });
    reader.add_key(KeypadAction::Recall, pin, ActiveLevel::High);
    let t = Instant::now();
    let mut fired = Vec::new();
    for i in 0..5u32 {
        fired.extend(reader.poll(t + 5 * MS * i).unwrap());
    }
    assert_eq!(fired, vec![KeypadAction::Recall]);
    for mut pin in reader.into_pins() {
        pin.done();
    }
}

#[test]
fn confirm_led_levels() {
    let pin = Mock::new(&[Transaction::set(State::Low), Transaction::set(State::High)]);
    let mut led = ConfirmLed::new(pin, ActiveLevel::Low);
    led.set(true).unwrap();
    led.set(false).unwrap();
    led.into_pin().done();
}

#[test]
fn action_paths_and_texts() {
    assert_eq!(KeypadAction::NoShow.path_segment(), "no-show");
    assert_eq!(KeypadAction::Next.done_text(), "Đã gọi số tiếp theo");
}

/// A kiosk that accepts the connection, reads the request and never answers
/// (hung): the keypad's request gives up after the client's response
/// timeout instead of holding the keypad forever.
#[tokio::test]
async fn a_kiosk_that_never_answers_does_not_hold_the_keypad() {
    use display_daemon::http::{BaseUrl, Client, HttpError};
    use display_daemon::keypad::{send_action, ActionError};
    use tokio::io::AsyncReadExt as _;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let hung = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let n = stream.read(&mut request).await.unwrap();
        let _ = accepted_tx.send(String::from_utf8_lossy(&request[..n]).into_owned());
        // Hold the connection open, silent, until the test is over.
        let _ = release_rx.await;
        drop(stream);
    });

    let timeout = Duration::from_millis(300);
    let client = Client::new(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .with_response_timeout(timeout);
    // The outer deadline only keeps a broken build from hanging the suite.
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        send_action(&client, "token", 3, KeypadAction::Next),
    )
    .await
    .expect("send_action returned by itself");
    let request = accepted_rx.await.unwrap();
    assert!(
        request.starts_with("POST /api/v1/counters/3/next HTTP/1.1"),
        "{request}"
    );
    match result {
        Err(ActionError::Http(HttpError::ResponseTimeout { addr: a, after })) => {
            assert_eq!(a, addr.to_string());
            assert_eq!(after, timeout);
        }
        other => panic!("expected a response timeout, got {other:?}"),
    }
    let _ = release_tx.send(());
    hung.await.unwrap();
}

/// A kiosk that sends the head of its answer and then stalls in the body
/// counts against the same timeout.
#[tokio::test]
async fn a_kiosk_that_stalls_in_the_body_does_not_hold_the_keypad() {
    use display_daemon::http::{BaseUrl, Client, HttpError};
    use display_daemon::keypad::{send_action, ActionError};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let stalled = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).await.unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\":")
            .await
            .unwrap();
        let _ = release_rx.await;
    });
    let client = Client::new(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .with_response_timeout(Duration::from_millis(300));
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        send_action(&client, "token", 1, KeypadAction::Finish),
    )
    .await
    .expect("send_action returned by itself");
    assert!(
        matches!(
            result,
            Err(ActionError::Http(HttpError::ResponseTimeout { .. }))
        ),
        "{result:?}"
    );
    let _ = release_tx.send(());
    stalled.await.unwrap();
}

/// Reads `levels` (one per 5 ms poll) from an active-low finish key whose
/// long press (100 ms here) pauses or resumes; returns (poll, action).
fn long_press_times(levels: &[State]) -> Vec<(usize, KeypadAction)> {
    let expectations: Vec<Transaction> = levels.iter().map(|s| Transaction::get(*s)).collect();
    let pin = Mock::new(&expectations);
    let mut reader = KeypadReader::new(KeyRule::default());
    reader.add_key_with_long_press(
        KeypadAction::Finish,
        KeypadAction::PauseResume,
        100 * MS,
        pin,
        ActiveLevel::Low,
    );
    let start = Instant::now();
    let mut fired = Vec::new();
    for i in 0..levels.len() {
        for action in reader.poll(start + 5 * MS * i as u32).unwrap() {
            fired.push((i, action));
        }
    }
    for mut pin in reader.into_pins() {
        pin.done();
    }
    fired
}

#[test]
fn a_short_press_of_a_long_press_key_fires_on_release() {
    let mut levels = vec![Up; 2];
    levels.extend([Down; 10]); // 50 ms: shorter than the long press
    levels.extend([Up; 10]);
    // Pressed from poll 2 (stable at 6), released from poll 12 (stable at 16).
    assert_eq!(long_press_times(&levels), vec![(16, KeypadAction::Finish)]);
}

#[test]
fn holding_the_key_pauses_once_and_its_release_does_nothing() {
    let mut levels = vec![Up; 2];
    levels.extend([Down; 60]); // 300 ms: three times the long press
    levels.extend([Up; 10]);
    // Stable press at poll 6; 100 ms later (20 polls) the long action, once.
    assert_eq!(
        long_press_times(&levels),
        vec![(26, KeypadAction::PauseResume)]
    );
}

#[test]
fn a_bouncing_long_press_still_fires_once() {
    let mut levels = vec![Up, Down, Up, Down];
    levels.extend([Down; 40]);
    levels.extend([Up, Down, Up]);
    levels.extend([Up; 10]);
    let fired = long_press_times(&levels);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].1, KeypadAction::PauseResume);
}

#[test]
fn pause_and_resume_paths_and_texts() {
    assert_eq!(KeypadAction::Pause.path_segment(), "pause");
    assert_eq!(KeypadAction::Resume.path_segment(), "open");
    assert_eq!(KeypadAction::Pause.done_text(), "Quầy đã tạm dừng");
}
