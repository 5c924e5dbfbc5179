//! The discrete-event engine: time, event order, randomness, distributions,
//! queueing building blocks and metric streams. It knows nothing of Coder,
//! does no I/O and never reads the clock.

pub mod dist;
pub mod events;
pub mod lock;
pub mod metrics;
pub mod ps;
pub mod rng;
pub mod station;
pub mod time;
pub mod timers;

pub use dist::Dist;
pub use events::{DefaultEventSet, EventSet, HeapEventSet, LadderEventSet};
pub use lock::FifoLock;
pub use metrics::{Labels, Metric, Recorder, Series, TimeSeries};
pub use rng::{PcgRng, SimRng, Streams};
pub use time::SimTime;
pub use timers::Timers;
