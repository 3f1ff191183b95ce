//! Simulation of CFS bandwidth control and CPU weights (pure core).

pub mod load;
