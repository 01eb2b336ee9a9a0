//! vidpipe-notifier's integration tests: one binary. `moto` runs the handler on moto's DynamoDB and EventBridge (and
//! a loopback webhook receiver); `in_memory` on the in-memory stores of `vidpipe_testkit::fakes`.

mod in_memory;
mod logs;
mod moto;
mod playback;
mod previews;
mod storyboard;
