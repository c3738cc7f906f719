//! Reading query rows into the inbox's types, shared by the SQLite and PostgreSQL backends (the
//! same columns under the same names and positions in both schemas).

use std::collections::HashMap;

use bytes::Bytes;
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{Backend, BackendResult};
use crate::{
    DeliveryId, DeliveryStatus, EventTypeStats, InboxError, Outcome, OutcomeResult, StatusCounts,
    StoredDelivery,
};

/// A non-negative count from an aggregate that may be `NULL` (SQLite's `SUM` over no rows).
pub(crate) fn count<'r, R>(row: &'r R, index: usize) -> BackendResult<u64>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let n: Option<i64> = row.try_get(index)?;
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
}

/// A row of `status, count` into the matching field.
pub(crate) fn add_status_count<'r, R>(counts: &mut StatusCounts, row: &'r R) -> BackendResult<()>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let status: String = row.try_get(0)?;
    let n = count(row, 1)?;
    match status.parse()? {
        DeliveryStatus::Pending => counts.pending = n,
        DeliveryStatus::Processing => counts.processing = n,
        DeliveryStatus::Done => counts.done = n,
        DeliveryStatus::Retrying => counts.retrying = n,
        DeliveryStatus::Dead => counts.dead = n,
    }
    Ok(())
}

/// A stored delivery from a row selecting the delivery columns by name.
pub(crate) fn delivery<'r, R>(row: &'r R) -> BackendResult<StoredDelivery>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let headers: String = row.try_get("headers")?;
    let headers: Vec<(String, String)> = serde_json::from_str(&headers)
        .map_err(|e| InboxError::Corrupt(format!("stored headers: {e}")))?;
    let status: String = row.try_get("status")?;
    let attempts: i64 = row.try_get("attempts")?;
    let body: Vec<u8> = row.try_get("body")?;
    Ok(StoredDelivery {
        id: DeliveryId(row.try_get("id")?),
        dedupe_key: row.try_get("dedupe_key")?,
        scheme: row.try_get("scheme")?,
        message_id: row.try_get("message_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        body: Bytes::from(body),
        headers,
        client_addr: row.try_get("client_addr")?,
        user_agent: row.try_get("user_agent")?,
        received_at_ms: row.try_get("received_at_ms")?,
        status: status.parse()?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
        last_error: row.try_get("last_error")?,
        processing_ms: row.try_get("processing_ms")?,
        finished_at_ms: row.try_get("finished_at_ms")?,
    })
}

/// Claimed rows into deliveries, in id order. A row that cannot be read (damaged outside the
/// inbox, or written by a newer version) must not strand the rows claimed with it: it becomes a
/// dead-letter outcome under the claim's lease, for the caller to record.
pub(crate) fn claimed<'r, R>(
    rows: &'r [R],
    owner: &str,
    now_ms: i64,
) -> (Vec<StoredDelivery>, Vec<Outcome>)
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut read = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for row in rows {
        let error = match delivery(row) {
            Ok(d) => {
                read.push(d);
                continue;
            }
            Err(e) => e,
        };
        let Ok(id) = row.try_get::<i64, _>("id") else {
            tracing::error!(%error, "claimed a row without a readable id; its lease will expire");
            continue;
        };
        tracing::error!(webhook.delivery = id, %error, "claimed delivery cannot be read; dead-lettering it");
        let event_type = row
            .try_get::<Option<String>, _>("event_type")
            .ok()
            .flatten();
        unreadable.push(Outcome::new(
            DeliveryId(id),
            event_type,
            owner,
            now_ms,
            0,
            OutcomeResult::Dead {
                error: format!("the stored row cannot be read: {error}"),
            },
        ));
    }
    read.sort_by_key(|d| d.id);
    (read, unreadable)
}

/// Records the dead-letter outcomes [`claimed`] made of unreadable rows. When that fails too,
/// the rows are claimed again after the lease.
pub(crate) async fn dead_letter_unreadable<B: Backend>(backend: &B, unreadable: &[Outcome]) {
    if unreadable.is_empty() {
        return;
    }
    if let Err(e) = backend.record(unreadable).await {
        tracing::error!(error = %e, "dead-lettering unreadable deliveries failed; they are claimed again after the lease");
    }
}

/// Per event type figures, gathered from the deliveries query and the attempts query.
#[derive(Default)]
pub(crate) struct StatsByType(HashMap<String, EventTypeStats>);

impl StatsByType {
    fn entry(&mut self, event_type: String) -> &mut EventTypeStats {
        self.0
            .entry(event_type.clone())
            .or_insert_with(|| EventTypeStats {
                event_type,
                ..Default::default()
            })
    }

    /// A row of `event_type, total, done, dead, in queue` from the deliveries table.
    pub(crate) fn add_deliveries<'r, R>(&mut self, row: &'r R) -> BackendResult<()>
    where
        R: Row,
        usize: ColumnIndex<R>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        String: Decode<'r, R::Database> + Type<R::Database>,
    {
        let s = self.entry(row.try_get(0)?);
        s.total = count(row, 1)?;
        s.succeeded = count(row, 2)?;
        s.dead = count(row, 3)?;
        s.in_queue = count(row, 4)?;
        Ok(())
    }

    /// A row of `event_type, failed runs, avg ms, min ms, max ms` from the attempts table.
    pub(crate) fn add_attempts<'r, R>(&mut self, row: &'r R) -> BackendResult<()>
    where
        R: Row,
        usize: ColumnIndex<R>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        f64: Decode<'r, R::Database> + Type<R::Database>,
        String: Decode<'r, R::Database> + Type<R::Database>,
    {
        let s = self.entry(row.try_get(0)?);
        s.failed = count(row, 1)?;
        s.avg_ms = row.try_get(2)?;
        s.min_ms = row.try_get(3)?;
        s.max_ms = row.try_get(4)?;
        Ok(())
    }

    /// The figures, sorted by event type.
    pub(crate) fn into_sorted(self) -> Vec<EventTypeStats> {
        let mut out: Vec<EventTypeStats> = self.0.into_values().collect();
        out.sort_by(|a, b| a.event_type.cmp(&b.event_type));
        out
    }
}
