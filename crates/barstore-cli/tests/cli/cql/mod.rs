//! CQL-only behaviour on a real node, by topic.

mod layouts;
mod nodes;
mod writers;
