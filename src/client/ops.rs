//! Operations: ids, cancel tokens, and kept results. Ids start at 1 and are never
//! reused. Results of the 1024 most recent ended operations are kept; a client without
//! a callback keeps each result until `wait` has read it once. After a logout, kept
//! results no longer hold a token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::events::ResultText;
use crate::error::{Error, Status};
use crate::secret::{SecretText, wipe_map};

pub type OpId = u64;

pub const KEPT_RESULTS: usize = 1024;

struct Kept {
    result: ResultText,
    read: bool,
    /// The result holds a token (scrubbed at logout).
    carries_token: bool,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    running: HashMap<OpId, CancellationToken>,
    /// Result, and whether `wait` has read it (matters when kept until read).
    results: HashMap<OpId, Kept>,
    /// Ids whose result may be dropped, oldest first.
    evictable: VecDeque<OpId>,
    waiters: usize,
    closed: bool,
}

pub struct Ops {
    table: Mutex<Table>,
    changed: Condvar,
    changed_async: Notify,
    keep_until_read: bool,
}

/// What `wait` found.
pub enum Waited {
    Done(ResultText),
    Pending,
}

impl Ops {
    pub fn new(keep_until_read: bool) -> Ops {
        Ops {
            table: Mutex::new(Table { next_id: 1, ..Default::default() }),
            changed: Condvar::new(),
            changed_async: Notify::new(),
            keep_until_read,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub fn running(&self) -> usize {
        self.lock().running.len()
    }

    /// Registers a new running operation.
    pub fn begin(&self) -> Result<(OpId, CancellationToken), Error> {
        let mut t = self.lock();
        if t.closed {
            return Err(Error::invalid("the client is closed"));
        }
        let id = t.next_id;
        t.next_id += 1;
        let token = CancellationToken::new();
        t.running.insert(id, token.clone());
        Ok((id, token))
    }

    /// Records the result of an operation that ended.
    pub fn finish(&self, id: OpId, result: ResultText, carries_token: bool) {
        let wake = {
            let mut t = self.lock();
            t.running.remove(&id);
            t.results.insert(id, Kept { result, read: false, carries_token });
            if !self.keep_until_read {
                t.evictable.push_back(id);
                Self::evict(&mut t);
            }
            // A Condvar notify is a syscall: only when a thread waits (or close() does).
            t.waiters > 0 || t.closed
        };
        if wake {
            self.changed.notify_all();
        }
        self.changed_async.notify_waiters();
    }

    fn evict(t: &mut Table) {
        while t.evictable.len() > KEPT_RESULTS {
            if let Some(old) = t.evictable.pop_front() {
                t.results.remove(&old);
            }
        }
    }

    fn issued(t: &Table, id: OpId) -> bool {
        id != 0 && id < t.next_id
    }

    pub fn cancel(&self, id: OpId) -> Result<(), Error> {
        let t = self.lock();
        if !Self::issued(&t, id) {
            return Err(Error::new(
                Status::UnknownOperation,
                format!("operation {id} was never issued by this client"),
            ));
        }
        if let Some(tok) = t.running.get(&id) {
            tok.cancel();
        }
        Ok(())
    }

    /// Cancels every running operation and refuses new ones; wakes every waiter.
    pub fn close(&self) {
        {
            let mut t = self.lock();
            t.closed = true;
            for tok in t.running.values() {
                tok.cancel();
            }
        }
        self.changed.notify_all();
        self.changed_async.notify_waiters();
    }

    /// Logout: every kept result loses its `access_token`, `refresh_token` and `id_token`.
    pub fn scrub_tokens(&self) {
        let mut t = self.lock();
        for kept in t.results.values_mut().filter(|k| k.carries_token) {
            let mut m: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(kept.result.as_str()).unwrap_or_default();
            for key in ["access_token", "refresh_token", "id_token"] {
                if let Some(mut v) = m.remove(key) {
                    crate::secret::wipe_value(&mut v);
                }
            }
            m.insert("token_cleared".into(), serde_json::Value::Bool(true));
            let text = serde_json::Value::Object(std::mem::take(&mut m)).to_string();
            wipe_map(&mut m);
            kept.result = Arc::new(SecretText::new(text));
            kept.carries_token = false;
        }
    }

    fn lookup(&self, t: &mut Table, id: OpId) -> Result<Option<ResultText>, Error> {
        if let Some(Kept { result, read, .. }) = t.results.get_mut(&id) {
            let r = Arc::clone(result);
            let first_read = !std::mem::replace(read, true);
            if self.keep_until_read && first_read {
                t.evictable.push_back(id);
                Self::evict(t);
            }
            return Ok(Some(r));
        }
        if t.running.contains_key(&id) {
            return Ok(None);
        }
        Err(Error::new(
            Status::UnknownOperation,
            if Self::issued(t, id) {
                format!("operation {id} ended too long ago; its result is no longer kept")
            } else {
                format!("operation {id} was never issued by this client")
            },
        ))
    }

    /// Blocks up to `timeout` (forever when `None`) for the result of `id`.
    pub fn wait(&self, id: OpId, timeout: Option<Duration>) -> Result<Waited, Error> {
        let deadline = timeout.map(|d| Instant::now() + d);
        let mut t = self.lock();
        t.waiters += 1;
        let out = loop {
            if t.closed {
                break Err(Error::new(Status::Canceled, "the client was freed while waiting"));
            }
            match self.lookup(&mut t, id) {
                Ok(Some(r)) => break Ok(Waited::Done(r)),
                Err(e) => break Err(e),
                Ok(None) => {}
            }
            match deadline {
                None => t = self.changed.wait(t).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break Ok(Waited::Pending);
                    }
                    t = self.changed.wait_timeout(t, d - now).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
        };
        t.waiters -= 1;
        // close() waits for the last waiter to leave.
        let closing = t.closed;
        drop(t);
        if closing {
            self.changed.notify_all();
        }
        out
    }

    /// Awaits the result of `id` without blocking a thread.
    pub async fn wait_async(&self, id: OpId) -> Result<ResultText, Error> {
        loop {
            let notified = self.changed_async.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut t = self.lock();
                if let Some(r) = self.lookup(&mut t, id)? {
                    return Ok(r);
                }
                if t.closed {
                    return Err(Error::new(Status::Canceled, "the client was closed while waiting"));
                }
            }
            notified.await;
        }
    }

    /// Blocks until no operation runs and no thread waits (used by close).
    pub fn wait_quiet(&self) {
        let mut t = self.lock();
        while !t.running.is_empty() || t.waiters > 0 {
            t = self.changed.wait(t).unwrap_or_else(|p| p.into_inner());
        }
    }

    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.lock().results.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> ResultText {
        Arc::new(SecretText::new(s.into()))
    }

    #[test]
    fn ids_start_at_one_and_unknown_ids_are_refused() {
        let ops = Ops::new(false);
        let (a, _) = ops.begin().unwrap();
        let (b, _) = ops.begin().unwrap();
        assert_eq!((a, b), (1, 2));
        assert_eq!(ops.cancel(0).unwrap_err().status(), Status::UnknownOperation);
        assert_eq!(ops.cancel(3).unwrap_err().status(), Status::UnknownOperation);
        assert!(matches!(ops.wait(a, Some(Duration::from_millis(1))).unwrap(), Waited::Pending));
        ops.finish(a, text("{\"ok\":true}"), false);
        assert!(matches!(ops.wait(a, Some(Duration::ZERO)).unwrap(), Waited::Done(_)));
        assert!(matches!(ops.wait(a, Some(Duration::ZERO)).unwrap(), Waited::Done(_)), "twice");
        assert!(ops.cancel(a).is_ok(), "cancel of an ended op is a no-op");
    }

    #[test]
    fn keeps_the_most_recent_results_only() {
        let ops = Ops::new(false);
        for _ in 0..(KEPT_RESULTS + 10) {
            let (id, _) = ops.begin().unwrap();
            ops.finish(id, text("{}"), false);
        }
        assert_eq!(ops.kept(), KEPT_RESULTS);
        assert_eq!(ops.wait(1, Some(Duration::ZERO)).err().unwrap().status(), Status::UnknownOperation);
    }

    #[test]
    fn without_callback_results_stay_until_read() {
        let ops = Ops::new(true);
        for _ in 0..(KEPT_RESULTS + 10) {
            let (id, _) = ops.begin().unwrap();
            ops.finish(id, text("{}"), false);
        }
        assert_eq!(ops.kept(), KEPT_RESULTS + 10);
        assert!(matches!(ops.wait(1, Some(Duration::ZERO)).unwrap(), Waited::Done(_)));
    }

    #[test]
    fn close_wakes_waiters() {
        let ops = Arc::new(Ops::new(false));
        let (id, tok) = ops.begin().unwrap();
        let o = ops.clone();
        let h = std::thread::spawn(move || o.wait(id, None).err().map(|e| e.status()));
        std::thread::sleep(Duration::from_millis(50));
        ops.close();
        assert!(tok.is_cancelled());
        assert_eq!(h.join().unwrap(), Some(Status::Canceled));
        assert_eq!(ops.begin().unwrap_err().status(), Status::InvalidArgument);
    }
}
