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
    async fn an_error_is_shared_too() {
        let aws = Aws::for_tests();
        let fail = || async { Err::<u32, _>(Error::Unexpected("no".into())) };
        let (a, b) = tokio::join!(shared(&aws, "e", fail), shared(&aws, "e", fail));
        assert!(matches!(a, Err(Error::Unexpected(m)) if m == "no"));
        assert!(matches!(b, Err(Error::Unexpected(m)) if m == "no"));
    }
}
