fn main() {
    std::process::exit(dtutil::ops::main_entry());
}
