//! What a printer says about itself ([`PrinterStatus`]) and whether a ticket
//! can be printed now. Asking (the `DLE EOT` bytes) is in `escpos` and
//! `transport`; polling on an interval is the kiosk's job.

/// The roll paper sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperState {
    /// Paper present, not near the end.
    Present,
    /// Paper near the end: still prints, a technician should replace the roll soon.
    NearEnd,
    /// No paper: nothing can be printed.
    Out,
    /// The printer did not say.
    Unknown,
}

/// A printer's status. `None` fields are ones the printer did not answer:
/// many cheap printers (and every file or one-way transport) answer nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrinterStatus {
    /// Online (ready to print), offline, or unknown.
    pub online: Option<bool>,
    /// Whether the cover is open, or unknown.
    pub cover_open: Option<bool>,
    /// The paper sensor.
    pub paper: PaperState,
}

impl PrinterStatus {
    /// The status of a printer that answered nothing.
    pub const UNKNOWN: PrinterStatus = PrinterStatus {
        online: None,
        cover_open: None,
        paper: PaperState::Unknown,
    };

    /// Whether the printer answered none of the status requests.
    pub fn is_unknown(&self) -> bool {
        *self == Self::UNKNOWN
    }

    /// Whether a ticket may be printed: false when the paper is out, the cover
    /// is open or the printer says it is offline. What is unknown counts as
    /// ready, since a printer that never answers status must still be usable.
    /// (An unreachable printer is a transport error, not a status.)
    pub fn ready_to_print(&self) -> bool {
        self.paper != PaperState::Out && self.cover_open != Some(true) && self.online != Some(false)
    }
}
