//! Input collection: files, directories and stdin → sources (I/O shell). Not yet written.
