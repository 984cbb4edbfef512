//! `unlock`: break a stale stack lock after showing who holds it.

use std::process::ExitCode;

use super::confirm::ask;
use super::load::{connect, load};
use super::print::emit;
use super::{Failure, Result};
use crate::cli::{GlobalArgs, UnlockArgs};
use crate::lock;

/// `unlock`: shows who holds the stack's lock and breaks it after asking.
pub(super) async fn run(g: &GlobalArgs, args: &UnlockArgs) -> Result<ExitCode> {
    let stack = load(g)?;
    let aws = connect(g, &stack).await?;
    let table = lock::table_name();
    let Some(holder) = lock::holder(&aws, &stack.name).await.map_err(Failure)? else {
        emit(&format!(
            "stack `{}` is not locked (lock table `{table}` in account {}, {})\n",
            stack.name, aws.account_id, aws.region
        ))?;
        return Ok(ExitCode::SUCCESS);
    };
    emit(&format!(
        "stack `{}` is locked: {}\n",
        stack.name,
        holder.describe()
    ))?;
    let expired = holder.expired(lock::now_secs());
    if !expired && holder.process_gone() != Some(true) {
        eprintln!(
            "warning: its holder may still be running; if it is, breaking the lock lets another run apply stack `{}` at the same time",
            stack.name
        );
    }
    ask(
        args.auto_approve,
        format!("Break the lock of stack `{}`?", stack.name),
    )
    .await?;
    if lock::break_lock(&aws, &stack.name, &holder.lock_id)
        .await
        .map_err(Failure)?
    {
        emit(&format!("lock of stack `{}` broken\n", stack.name))?;
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure(format!(
            "the lock of stack `{}` changed hands (or was released) while you decided; nothing was broken. Run `mobile-backend unlock` again to see who holds it now",
            stack.name
        )))
    }
}
