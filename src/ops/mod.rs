//! Carries out a plan over the store interface.

pub fn main_entry() -> i32 {
    1
}
