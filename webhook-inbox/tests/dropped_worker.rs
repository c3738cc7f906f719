//! A worker whose handle is dropped without `shutdown()` runs on, idle between polls: not a loop
//! that spins on the closed stop channel. In a binary of its own, so that the process's CPU time
//! is this worker's.

mod support;

use std::time::Duration;

use support::{delivery, eventually, inbox_with};
use webhook_inbox::{AcceptMeta, DeliveryStatus, HandlerResult, StoredDelivery};

/// User plus system CPU seconds of this process, from `/proc/self/stat`.
#[cfg(target_os = "linux")]
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_dropped_handle_leaves_an_idle_worker_running() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(100))
        .on_raw("*", |_d: StoredDelivery| async { HandlerResult::Ok(()) })
        .spawn()
        .unwrap();
    drop(worker);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = cpu_secs();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let spent = cpu_secs() - before;
    assert!(spent < 0.3, "{spent:.2} s of CPU in 1 s of idling");
    // And it still works.
    let id = inbox
        .accept(&delivery("after-drop", "t", "{}"), AcceptMeta::new())
        .await
        .unwrap()
        .id();
    assert!(
        eventually(5, || async {
            inbox.get(id).await.unwrap().unwrap().status == DeliveryStatus::Done
        })
        .await
    );
}
