//! sled itself on a store's data directory, for the store's own tests that
//! read or write records behind the store's back (apart from
//! `store_support`, which tests of other crates share and which must not
//! need sled).

use std::path::Path;
use std::time::Duration;

/// sled on `data`, once the store of this process that just closed it has
/// let go of sled's lock (sled 0.34 releases it from a background thread, a
/// moment after the handle is dropped).
pub fn raw_open(data: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match sled::open(data) {
            Ok(db) => return db,
            Err(err) if std::time::Instant::now() < deadline => {
                eprintln!("retrying sled::open: {err}");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => panic!("opening {}: {err}", data.display()),
        }
    }
}
