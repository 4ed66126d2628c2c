//! The simulated cluster: its objects, its clock, and the controllers that make it behave.

pub mod clock;
pub mod controllers;
pub mod faults;
pub mod lifecycle;
pub mod logs;
pub mod node_load;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::store::{DEFAULT_HISTORY, World};
use clock::SimClock;

/// Settings of the simulation that are not in the CLI (tests tune them).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// How often a watch with `allowWatchBookmarks` gets a BOOKMARK (real time).
    pub bookmark_interval: Duration,
    /// Changes kept per kind for watches to resume from.
    pub history: usize,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How often simulated node metrics are pushed (with `--push-node-metrics`).
    pub node_metrics_interval: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            bookmark_interval: Duration::from_secs(60),
            history: DEFAULT_HISTORY,
            max_body_bytes: 3 << 20,
            node_metrics_interval: Duration::from_secs(5),
        }
    }
}

/// The cluster: objects behind one lock (held only for short, synchronous work), and the clock.
pub struct Sim {
    world: Mutex<World>,
    pub clock: SimClock,
    pub options: SimOptions,
}

impl Sim {
    pub fn new(world: World, clock: SimClock, options: SimOptions) -> Self {
        Sim {
            world: Mutex::new(world),
            clock,
            options,
        }
    }

    /// The world, locked. Never hold the guard across an `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
