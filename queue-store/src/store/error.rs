//! Errors of the store: refusals of the queue (typed, expected, shown to
//! people) and storage failures (unexpected, for technicians).

use std::path::PathBuf;

use jiff::civil::{Date, Time};
use queue_protocol::TicketId;

/// The disk store failed or holds something it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled could not open the data directory.
    #[error("cannot open the queue store in {dir}: {source}; check that the directory exists, is writable and that no other kiosk process uses it")]
    Open {
        /// The data directory.
        dir: PathBuf,
        /// What sled reported.
        source: sled::Error,
    },
    /// The data directory was written by a newer release, in a disk format
    /// this one cannot read.
    #[error("the queue store is in disk format {found}, written by a newer kiosk; this kiosk reads formats up to {supported}: install that newer kiosk again (the data is untouched)")]
    NewerFormat {
        /// The format on disk.
        found: u32,
        /// The newest format this build reads.
        supported: u32,
    },
    /// A read, write or flush failed.
    #[error("queue store I/O failed while {doing}: {source}; check the SD card or disk (dmesg) and free space")]
    Io {
        /// What the store was doing.
        doing: &'static str,
        /// What sled reported.
        source: sled::Error,
    },
    /// A stored record could not be decoded.
    #[error("queue store record {key} is unreadable: {source}; the data directory may come from an incompatible version")]
    Decode {
        /// The record's key, printable.
        key: String,
        /// What serde reported.
        source: serde_json::Error,
    },
    /// Stored records contradict each other.
    #[error(
        "queue store is inconsistent: {0}; keep a copy of the data directory for the developers"
    )]
    Inconsistent(String),
    /// An earlier write failed and the store could not be reopened yet; it
    /// retries at every operation.
    #[error("queue store is not writable ({reason}); free space on the SD card or check the disk (dmesg) — the kiosk retries by itself")]
    Unavailable {
        /// Why the last write or reopen failed.
        reason: String,
    },
}

/// Why a ticket was not issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No department with this id in the config.
    #[error(
        "unknown department {department:?}; check the button and department ids in the config"
    )]
    UnknownDepartment {
        /// The id asked for.
        department: String,
    },
    /// The department lists no service with this id.
    #[error("department {department} has no service {service:?}; check its services in the config (the touch page may be older than a reload)")]
    UnknownService {
        /// The department.
        department: String,
        /// The service id asked for.
        service: String,
    },
    /// No priority class with this id in the config.
    #[error("unknown priority class {class:?}; check [kiosk.priority] classes in the config")]
    UnknownPriorityClass {
        /// The id asked for.
        class: String,
    },
    /// The department does not offer priority tickets.
    #[error(
        "department {department} does not offer priority tickets (priority = false in the config)"
    )]
    PriorityNotOffered {
        /// The department.
        department: String,
    },
    /// The service day is a closed weekday or holiday.
    #[error("department {department} is closed on {day} (closed weekday or date in the config)")]
    ClosedDay {
        /// The department.
        department: String,
        /// The service day.
        day: Date,
    },
    /// Local time is outside the opening sessions.
    #[error("department {department} is outside its opening hours at {time} local time")]
    OutsideOpeningHours {
        /// The department.
        department: String,
        /// Local time of the attempt.
        time: Time,
    },
    /// The daily cap was reached.
    #[error("department {department} reached its daily cap of {cap} tickets; raise daily_cap in the config if needed")]
    DailyCapReached {
        /// The department.
        department: String,
        /// The cap.
        cap: u32,
    },
    /// The number block has no free number left today.
    #[error("department {department} used its whole number block today (last number {last}); widen the block or set on_exhausted = \"wrap\"")]
    BlockExhausted {
        /// The department.
        department: String,
        /// The block's last number.
        last: u32,
    },
    /// The store failed; no number was handed out.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IssueError {
    /// What the kiosk tells the citizen, in Vietnamese.
    pub fn citizen_message(&self) -> &'static str {
        match self {
            Self::UnknownDepartment { .. }
            | Self::UnknownService { .. }
            | Self::UnknownPriorityClass { .. }
            | Self::PriorityNotOffered { .. }
            | Self::Store(_) => {
                "Máy tạm thời không cấp được số. Xin vui lòng liên hệ cán bộ hướng dẫn."
            }
            Self::ClosedDay { .. } => "Hôm nay không làm việc.",
            Self::OutsideOpeningHours { .. } => "Ngoài giờ làm việc.",
            Self::DailyCapReached { .. } | Self::BlockExhausted { .. } => {
                "Hôm nay đã hết số. Xin vui lòng quay lại vào ngày làm việc tiếp theo."
            }
        }
    }
}

/// Why a counter or admin action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No counter with this number in the config.
    #[error("unknown counter {counter}; check [[counters]] in the config")]
    UnknownCounter {
        /// The number asked for.
        counter: u16,
    },
    /// No department with this id in the config.
    #[error("unknown department {department:?}")]
    UnknownDepartment {
        /// The id asked for.
        department: String,
    },
    /// No ticket with this id was ever issued (or it was removed by retention).
    #[error("unknown ticket {ticket}")]
    UnknownTicket {
        /// The ticket.
        ticket: TicketId,
    },
    /// The ticket is already done, no-show or cancelled.
    #[error("ticket {ticket} is already closed")]
    TicketClosed {
        /// The ticket.
        ticket: TicketId,
    },
    /// "Next" found nobody waiting for this counter.
    #[error("nobody is waiting for counter {counter}")]
    NothingWaiting {
        /// The counter.
        counter: u16,
    },
    /// The counter has no called or served ticket to act on.
    #[error("counter {counter} has no current ticket; call the next one first")]
    NoCurrentTicket {
        /// The counter.
        counter: u16,
    },
    /// The ticket is still waiting: it was never called.
    #[error("ticket {ticket} has not been called yet")]
    NotCalledYet {
        /// The ticket.
        ticket: TicketId,
    },
    /// The ticket is at another counter.
    #[error("ticket {ticket} belongs to counter {counter}")]
    BelongsToOtherCounter {
        /// The ticket.
        ticket: TicketId,
        /// The counter holding it.
        counter: u16,
    },
    /// The action does not apply in the ticket's state (e.g. no-show while serving).
    #[error("cannot {action} ticket {ticket} while it is {state}")]
    WrongState {
        /// The ticket.
        ticket: TicketId,
        /// The action refused.
        action: &'static str,
        /// The ticket's state.
        state: &'static str,
    },
    /// The counter is paused or closed.
    #[error("counter {counter} is {status}; open it again first")]
    CounterNotOpen {
        /// The counter.
        counter: u16,
        /// Its status ("paused", "closed").
        status: &'static str,
    },
    /// The counter already has this status.
    #[error("counter {counter} is already {status}")]
    AlreadyInStatus {
        /// The counter.
        counter: u16,
        /// Its status.
        status: &'static str,
    },
    /// The action needs a free counter but a ticket is called or served there.
    #[error("counter {counter} cannot {action} while ticket {label} is called or served there; finish, park or transfer it first")]
    CounterBusy {
        /// The counter.
        counter: u16,
        /// The action refused ("paused", "call a chosen ticket", …).
        action: &'static str,
        /// The ticket at the counter.
        ticket: TicketId,
        /// Its label.
        label: String,
    },
    /// The reason is not on the center's list.
    #[error("reason {reason:?} is not on the list; choose one of: {allowed}")]
    UnknownReason {
        /// The reason given.
        reason: String,
        /// The allowed reasons, comma-separated.
        allowed: String,
    },
    /// The counter does not call tickets of that department.
    #[error("counter {counter} does not serve department {department} of ticket {ticket}; transfer it instead")]
    NotServedHere {
        /// The ticket.
        ticket: TicketId,
        /// Its department.
        department: String,
        /// The counter.
        counter: u16,
    },
    /// The ticket is already parked.
    #[error("ticket {ticket} is already parked at counter {counter}")]
    AlreadyParked {
        /// The ticket.
        ticket: TicketId,
        /// The counter holding it parked.
        counter: u16,
    },
    /// A no-show of an earlier service day cannot come back.
    #[error("ticket {ticket} is of service day {service_day}; only today's no-shows can be brought back (issue a new ticket)")]
    NotToday {
        /// The ticket.
        ticket: TicketId,
        /// Its service day.
        service_day: String,
    },
    /// Its number was given to another waiting ticket (the block wrapped).
    #[error("ticket {ticket} cannot come back: its number is held by ticket {holder} now; issue a new ticket")]
    NumberReissued {
        /// The ticket.
        ticket: TicketId,
        /// The open ticket holding the same number.
        holder: TicketId,
    },
    /// The store failed; nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a citizen's rating was refused. Each has a short machine reason for
/// devices ([`RatingError::reason`]) and a Vietnamese line for the citizen
/// ([`RatingError::citizen_message`]).
#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    /// No counter with this number in the config.
    #[error(
        "unknown counter {counter}; check [[counters]] in the config and the device's counter"
    )]
    UnknownCounter {
        /// The number asked for.
        counter: u16,
    },
    /// The level is not one of the config's `[[ratings.levels]]`.
    #[error("unknown rating level {level:?}; use one of the ids in [[ratings.levels]]")]
    UnknownLevel {
        /// The level given.
        level: String,
    },
    /// The source is not `counter_button`, `counter_touch` or `phone`.
    #[error("unknown rating source {source_name:?}; use counter_button, counter_touch or phone")]
    BadSource {
        /// The source given.
        source_name: String,
    },
    /// The counter serves no ticket and finished none that can be rated.
    #[error("counter {counter} has no served ticket to rate")]
    NoTicket {
        /// The counter.
        counter: u16,
    },
    /// The named ticket does not exist (or retention removed it).
    #[error("unknown ticket {ticket}")]
    UnknownTicket {
        /// The ticket.
        ticket: TicketId,
    },
    /// The ticket was rated already; one rating per ticket.
    #[error("ticket {ticket} ({label}) was already rated")]
    AlreadyRated {
        /// The ticket.
        ticket: TicketId,
        /// Its label.
        label: String,
    },
    /// The named ticket was handled by another counter.
    #[error("ticket {ticket} was served at another counter ({counter:?})")]
    OtherCounter {
        /// The ticket.
        ticket: TicketId,
        /// The counter that handled it, if any.
        counter: Option<u16>,
    },
    /// The counter called another ticket after finishing the one to rate.
    #[error(
        "counter {counter} already called the next ticket; the previous one can no longer be rated"
    )]
    NextCalled {
        /// The counter.
        counter: u16,
    },
    /// The attach window after the finish has passed.
    #[error("ticket {ticket} finished more than {window_secs} s ago; ratings attach only within [ratings] attach_window_secs")]
    TooLate {
        /// The ticket.
        ticket: TicketId,
        /// The window, seconds.
        window_secs: u64,
    },
    /// The ticket rated from its phone page has not been served yet
    /// (waiting, called, parked) or was never served (no-show, cancelled).
    #[error(
        "ticket {ticket} is not being served and was not served; only a served ticket can be rated"
    )]
    NotServed {
        /// The ticket.
        ticket: TicketId,
    },
    /// The store failed; nothing was recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RatingError {
    /// The reason code devices show a message for.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownCounter { .. } => "unknown_counter",
            Self::UnknownLevel { .. } => "unknown_level",
            Self::BadSource { .. } => "bad_source",
            Self::NoTicket { .. } | Self::UnknownTicket { .. } => "no_ticket",
            Self::AlreadyRated { .. } => "already_rated",
            Self::OtherCounter { .. } => "other_counter",
            Self::NextCalled { .. } => "next_called",
            Self::TooLate { .. } => "too_late",
            Self::NotServed { .. } => "not_served",
            Self::Store(_) => "unavailable",
        }
    }

    /// What the device tells the citizen, in Vietnamese.
    pub fn citizen_message(&self) -> &'static str {
        match self {
            Self::AlreadyRated { .. } => "Lượt phục vụ này đã được đánh giá. Xin cảm ơn ông/bà.",
            Self::NoTicket { .. } | Self::UnknownTicket { .. } => {
                "Chưa có lượt phục vụ nào để đánh giá tại quầy này."
            }
            Self::OtherCounter { .. } => "Số này được phục vụ tại quầy khác.",
            Self::NextCalled { .. } => "Quầy đã gọi số tiếp theo, không thể đánh giá lượt trước.",
            Self::TooLate { .. } => "Đã hết thời gian đánh giá lượt phục vụ này.",
            Self::NotServed { .. } => "Số của ông/bà chưa được phục vụ nên chưa thể đánh giá.",
            Self::UnknownCounter { .. }
            | Self::UnknownLevel { .. }
            | Self::BadSource { .. }
            | Self::Store(_) => {
                "Chưa ghi nhận được đánh giá. Xin vui lòng thử lại hoặc báo cán bộ."
            }
        }
    }
}
