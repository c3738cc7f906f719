//! `webhook inbox`: stats, list, show, replay and redrive on a webhook-inbox database.

mod render;

use std::path::Path;

use webhook_inbox::{
    DeliveryId, DeliveryStatus, Inbox, InboxError, ListFilter, SchemaSetup, StoredDelivery,
};

use crate::cli::{InboxArgs, InboxCommand, StatusArg};
use crate::error::CliError;

/// Runs `webhook inbox …`, writing tables or JSON to `out`.
pub(crate) fn run(args: &InboxArgs, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    // clap checks the conflict only when `--json` follows `show`; it is global, so it may come
    // before the subcommand too.
    if args.json && matches!(args.command, InboxCommand::Show { body: true, .. }) {
        return Err(CliError::Usage(
            "show --body prints the raw body and cannot be used with --json".into(),
        ));
    }
    let url = args.database.as_deref().ok_or_else(|| {
        CliError::Usage("no inbox database: pass --database URL or set WEBHOOK_INBOX_URL".into())
    })?;
    check_sqlite_file(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    let bytes = runtime.block_on(async {
        // As the store is: the CLI never creates or migrates a receiver's schema.
        let inbox = Inbox::builder(url)
            .schema(SchemaSetup::Existing)
            .build()
            .await
            .map_err(|e| opening_error(url, e))?;
        let result = execute(&inbox, &args.command, args.json).await;
        inbox.close().await;
        result
    })?;
    CliError::write_out(out, &bytes, "the output")
}

async fn execute(inbox: &Inbox, command: &InboxCommand, json: bool) -> Result<Vec<u8>, CliError> {
    if let InboxCommand::Show { id, body: true } = command {
        let delivery = resolve(inbox, id).await?;
        return Ok(render::body(&delivery));
    }
    let text = match command {
        InboxCommand::Stats { window } => {
            let counts = inbox.counts().await.map_err(inbox_error)?;
            let stats = inbox.stats(*window).await.map_err(inbox_error)?;
            render::stats(&counts, &stats, *window, json)
        }
        InboxCommand::List {
            status,
            event_type,
            limit,
            before,
        } => {
            let mut filter = ListFilter::new().limit(*limit);
            if let Some(status) = status {
                filter = filter.status(delivery_status(*status));
            }
            if let Some(event_type) = event_type {
                filter = filter.event_type(event_type.clone());
            }
            if let Some(before) = before {
                filter = filter.before(DeliveryId(*before));
            }
            let rows = inbox.list(&filter).await.map_err(inbox_error)?;
            render::list(&rows, *limit, json)
        }
        InboxCommand::Show { id, .. } => {
            let delivery = resolve(inbox, id).await?;
            render::show(&delivery, json)
        }
        InboxCommand::Replay { id } => {
            let delivery = resolve(inbox, id).await?;
            inbox
                .replay(delivery.id)
                .await
                .map_err(|e| match inbox_error(e) {
                    // Say when the worker's lease ends, after which it can be replayed.
                    CliError::Failed(message) if delivery.status == DeliveryStatus::Processing => {
                        CliError::Failed(format!(
                            "{message} (its worker's lease runs until {})",
                            render::timestamp(delivery.next_attempt_at_ms)
                        ))
                    }
                    other => other,
                })?;
            render::requeued("replayed", &[delivery], json)
        }
        InboxCommand::Redrive { id: Some(id), .. } => {
            let delivery = resolve(inbox, id).await?;
            inbox.redrive(delivery.id).await.map_err(inbox_error)?;
            render::requeued("re-drove", &[delivery], json)
        }
        InboxCommand::Redrive { id: None, .. } => {
            let n = inbox.redrive_all_dead().await.map_err(inbox_error)?;
            render::redrove_all(n, json)
        }
    };
    Ok(text.into_bytes())
}

/// Finds a delivery by numeric id (`42`, or `#42` for that alone), or by event id, message id or
/// dedupe key (one indexed lookup). A number can be both (Shopify's event ids are numbers): when
/// it names more than one delivery, or a key names several, that is a usage error listing ids.
async fn resolve(inbox: &Inbox, id: &str) -> Result<StoredDelivery, CliError> {
    if let Some(n) = id.strip_prefix('#') {
        let n = n
            .parse::<i64>()
            .map_err(|_| CliError::Usage(format!("`{id}`: `#` takes the inbox's numeric id")))?;
        return inbox
            .get(DeliveryId(n))
            .await
            .map_err(inbox_error)?
            .ok_or_else(|| CliError::NotFound(format!("no delivery with id {n}")));
    }
    let mut matches = inbox
        .list(&ListFilter::new().key(id).limit(10))
        .await
        .map_err(inbox_error)?;
    if let Ok(n) = id.parse::<i64>()
        && let Some(by_id) = inbox.get(DeliveryId(n)).await.map_err(inbox_error)?
        && !matches.iter().any(|d| d.id == by_id.id)
    {
        matches.insert(0, by_id);
    }
    match matches.len() {
        0 => Err(CliError::NotFound(format!(
            "no delivery with id, event id, message id or dedupe key `{id}`"
        ))),
        1 => Ok(matches.remove(0)),
        _ => Err(CliError::Usage(format!(
            "`{id}` names {} deliveries (ids {}); pass the numeric id of one, as `#ID`",
            matches.len(),
            matches
                .iter()
                .map(|d| d.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn delivery_status(status: StatusArg) -> DeliveryStatus {
    match status {
        StatusArg::Pending => DeliveryStatus::Pending,
        StatusArg::Processing => DeliveryStatus::Processing,
        StatusArg::Done => DeliveryStatus::Done,
        StatusArg::Retrying => DeliveryStatus::Retrying,
        StatusArg::Dead => DeliveryStatus::Dead,
    }
}

/// An error opening the inbox, naming the database (its password hidden): with the URL taken
/// from `WEBHOOK_INBOX_URL`, the operator may not know which one was tried.
fn opening_error(url: &str, e: InboxError) -> CliError {
    match inbox_error(e) {
        CliError::Runtime(message) => {
            CliError::Runtime(format!("{message} (inbox at {})", shown_database(url)))
        }
        other => other,
    }
}

/// `url` for a message, read as text (a password with an unencoded `/`, `#` or `?` makes a URL
/// parser see another host, and no password): everything between the user name and the last
/// `@` becomes `***`, as does the value of any query parameter named like a password.
fn shown_database(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match url.split_once(':') {
            Some((scheme, _)) if !scheme.contains('/') => format!("{scheme}:…"),
            _ => url.to_owned(),
        };
    };
    let (user, after) = match rest.rfind('@') {
        Some(at) => {
            let user = match rest[..at].split_once(':') {
                Some((user, _)) => format!("{user}:***@"),
                None => format!("{}@", &rest[..at]),
            };
            (user, &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    let after = match after.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _))
                        if percent_encoding::percent_decode_str(key)
                            .decode_utf8_lossy()
                            .to_ascii_lowercase()
                            .contains("password") =>
                    {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => after.to_owned(),
    };
    format!("{scheme}://{user}{after}")
}

fn inbox_error(e: InboxError) -> CliError {
    match e {
        InboxError::NotFound(id) => CliError::NotFound(format!("no delivery with id {id}")),
        InboxError::InvalidState { .. } => CliError::Failed(e.to_string()),
        InboxError::UnsupportedUrl(_) => CliError::Usage(e.to_string()),
        other => CliError::Runtime(other.to_string()),
    }
}

/// Refuses a `sqlite:` URL whose file does not exist: opening it would create an empty inbox
/// and hide a typo.
fn check_sqlite_file(url: &str) -> Result<(), CliError> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let raw = rest.split('?').next().unwrap_or(rest);
    // Percent-decoded, as sqlx reads it (`my%20app` is `my app`).
    let path = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let path = path.as_ref();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return Ok(());
    }
    if Path::new(path).exists() {
        return Ok(());
    }
    Err(CliError::Io {
        what: format!("the inbox database {path}"),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file (the receiver creates it on start)",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_percent_decoded_as_sqlx_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("my app.db");
        std::fs::write(&file, b"").unwrap();
        let encoded = file.display().to_string().replace(' ', "%20");
        assert!(check_sqlite_file(&format!("sqlite://{encoded}")).is_ok());
        assert!(check_sqlite_file(&format!("sqlite://{}", file.display())).is_ok());
    }

    #[test]
    fn databases_are_named_without_their_password() {
        assert_eq!(
            shown_database("postgres://bob:s3cr3t@127.0.0.1:5999/db?sslmode=require"),
            "postgres://bob:***@127.0.0.1:5999/db?sslmode=require"
        );
        assert_eq!(
            shown_database("postgres://bob@db/hooks"),
            "postgres://bob@db/hooks"
        );
        assert_eq!(shown_database("not a url:pw@x"), "not a url:…");
        assert_eq!(
            shown_database("postgres://bob@db/hooks?password=s3cr3t&options[search_path]=w"),
            "postgres://bob@db/hooks?password=***&options[search_path]=w"
        );
        assert_eq!(
            shown_database("postgres://bob@db/hooks?pass%77ord=s3cr3t"),
            "postgres://bob@db/hooks?pass%77ord=***"
        );
        // Unencoded `/`, `#` or `?` in the password: a URL parser sees another host.
        for url in [
            "postgres://app:2024/Xk9+secret@127.0.0.1:1/app",
            "postgres://app:1234#Xk9secret@127.0.0.1:1/app",
            "postgres://app:12?34secret@127.0.0.1:1/app",
        ] {
            assert_eq!(shown_database(url), "postgres://app:***@127.0.0.1:1/app");
        }
        assert_eq!(
            shown_database("sqlite://webhooks.db"),
            "sqlite://webhooks.db"
        );
    }

    #[test]
    fn missing_sqlite_files_are_refused_but_memory_and_other_urls_pass() {
        assert!(check_sqlite_file("sqlite:///nonexistent/inbox.db").is_err());
        assert!(check_sqlite_file("sqlite:/nonexistent/inbox.db?mode=rwc").is_err());
        assert!(check_sqlite_file("sqlite::memory:").is_ok());
        assert!(check_sqlite_file("postgres://localhost/inbox").is_ok());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inbox.db");
        std::fs::write(&file, b"").unwrap();
        assert!(check_sqlite_file(&format!("sqlite://{}", file.display())).is_ok());
    }
}
