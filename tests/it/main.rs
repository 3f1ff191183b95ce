//! The one integration test binary: every area is a module here (style.md §13).

mod architecture;
mod sim;
mod translate;
