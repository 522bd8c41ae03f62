mod e2e;
mod e2e_announce_port;
mod e2e_another_local_client;
mod e2e_padded_files;
mod e2e_stream;
mod e2e_swarm_trading;
mod e2e_wire_manners;
pub mod test_util;
