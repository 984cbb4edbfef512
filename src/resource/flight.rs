//! Identical reads in flight at the same time share one request.
//!
//! `plan` reads every resource at once, and several resources start with the
//! same account-wide list (`ListUserPools`, `ListIdentityPools`,
//! `GetRestApis`, `GetApiKeys`, `GetUsagePlans`) or the same list of their
//! pool (`ListUserPoolClients`, `ListGroups`). Each such read goes through
//! [`shared`]: the first caller sends it, callers that ask for the same key
//! while it is in flight wait for its answer, and once it is answered the
//! next caller asks AWS again. Nothing is cached beyond one request's flight,
//! so a read never sees state older than a request it overlapped; only reads
//! (never the lists an apply step makes to find what it just changed) use it.
//!
//! While a plan reads live state ([`retain`]), answers are kept until its
//! reads end instead: a plan reads every resource at once, but hundreds of
//! reads do not all send their first request at the same moment (signing
//! them takes time), and a listing answered before the last of them asked
//! would otherwise be asked for again. A plan is one look at live state, so
//! its reads take one answer per listing.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::OnceCell;

use super::Error;
use crate::aws::Aws;

type Flights = Mutex<HashMap<(usize, String), Arc<dyn Any + Send + Sync>>>;

fn flights() -> &'static Flights {
    static FLIGHTS: OnceLock<Flights> = OnceLock::new();
    FLIGHTS.get_or_init(Flights::default)
}

/// The clients whose answers are kept until their plan's reads end, with
/// how many [`Retained`] guards keep them.
fn retaining() -> &'static Mutex<HashMap<usize, usize>> {
    static RETAINING: OnceLock<Mutex<HashMap<usize, usize>>> = OnceLock::new();
    RETAINING.get_or_init(Mutex::default)
}

/// While this lives, the answers [`shared`] gets for `aws` are kept, not
/// asked for again; dropping the last one for `aws` forgets them.
pub(crate) struct Retained {
    id: usize,
}

/// Keeps the answers of `aws`'s shared reads until the returned guard is
/// dropped: for the reads of one plan.
pub(crate) fn retain(aws: &Aws) -> Retained {
    let id = aws as *const Aws as usize;
    *retaining()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(id)
        .or_default() += 1;
    Retained { id }
}

impl Drop for Retained {
    fn drop(&mut self) {
        let mut retaining = retaining().lock().unwrap_or_else(|e| e.into_inner());
        let Some(count) = retaining.get_mut(&self.id) else {
            return;
        };
        *count -= 1;
        if *count > 0 {
            return;
        }
        retaining.remove(&self.id);
        drop(retaining);
        flights()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(id, _), _| *id != self.id);
    }
}

/// The answer of `read`, shared with every caller that asks for the same
/// `key` of the same `aws` while it is in flight.
pub(super) async fn shared<T, F, Fut>(aws: &Aws, key: &str, read: F) -> Result<T, Error>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    // The clients of one run: two live `Aws` never share an address.
    let id = (aws as *const Aws as usize, key.to_string());
    let cell = {
        let mut map = flights().lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(id.clone())
            .or_insert_with(|| Arc::new(OnceCell::<Result<T, Error>>::new()));
        Arc::clone(entry).downcast::<OnceCell<Result<T, Error>>>()
    };
    let Ok(cell) = cell else {
        // The same key for another type: a programming slip; do not share.
        return read().await;
    };
    let answer = cell.get_or_init(read).await.clone();
    if retaining()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&id.0)
    {
        return answer;
    }
    // Answered: the next caller asks AWS again.
    let mut map = flights().lock().unwrap_or_else(|e| e.into_inner());
    if map
        .get(&id)
        .is_some_and(|e| std::ptr::eq(Arc::as_ptr(e) as *const (), Arc::as_ptr(&cell) as *const ()))
    {
        map.remove(&id);
    }
    answer
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    async fn counted(calls: &AtomicUsize, value: u32) -> Result<u32, Error> {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(value)
    }

    #[tokio::test(start_paused = true)]
    async fn reads_in_flight_together_share_one_request_and_later_ones_ask_again() {
        let aws = Aws::for_tests();
        let calls = AtomicUsize::new(0);
        let (a, b, c) = tokio::join!(
            shared(&aws, "k", || counted(&calls, 1)),
            shared(&aws, "k", || counted(&calls, 2)),
            shared(&aws, "k", || counted(&calls, 3)),
        );
        assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (1, 1, 1));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Answered: nothing is kept.
        assert_eq!(shared(&aws, "k", || counted(&calls, 4)).await.unwrap(), 4);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let id = (&aws as *const Aws as usize, "k".to_string());
        assert!(!flights().lock().unwrap().contains_key(&id));
    }

    #[tokio::test(start_paused = true)]
    async fn other_keys_and_other_clients_do_not_share() {
        let (one, two) = (Aws::for_tests(), Aws::for_tests());
        let calls = AtomicUsize::new(0);
        let (a, b, c) = tokio::join!(
            shared(&one, "k", || counted(&calls, 1)),
            shared(&one, "other", || counted(&calls, 2)),
            shared(&two, "k", || counted(&calls, 3)),
        );
        assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (1, 2, 3));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn while_a_plan_reads_an_answer_is_kept_and_then_forgotten() {
        let aws = Aws::for_tests();
        let calls = AtomicUsize::new(0);
        {
            let _plan = retain(&aws);
            // Guards nest: the inner one's end forgets nothing.
            drop(retain(&aws));
            assert_eq!(shared(&aws, "k", || counted(&calls, 1)).await.unwrap(), 1);
            // Asked again after it was answered: the same answer, no call.
            assert_eq!(shared(&aws, "k", || counted(&calls, 2)).await.unwrap(), 1);
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        }
        // The plan's reads are over: asked afresh, and not kept.
        assert_eq!(shared(&aws, "k", || counted(&calls, 3)).await.unwrap(), 3);
        assert_eq!(shared(&aws, "k", || counted(&calls, 4)).await.unwrap(), 4);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let id = (&aws as *const Aws as usize, "k".to_string());
        assert!(!flights().lock().unwrap().contains_key(&id));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_is_shared_too() {
        let aws = Aws::for_tests();
        let fail = || async { Err::<u32, _>(Error::Unexpected("no".into())) };
        let (a, b) = tokio::join!(shared(&aws, "e", fail), shared(&aws, "e", fail));
        assert!(matches!(a, Err(Error::Unexpected(m)) if m == "no"));
        assert!(matches!(b, Err(Error::Unexpected(m)) if m == "no"));
    }
}
