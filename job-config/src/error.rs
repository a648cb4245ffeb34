//! The one error type of the crate. Every variant says what went wrong and where: a JSON path,
//! a line and column of the job text, or the name of a parameter or environment variable.

/// An error while reading a job file, its parameters or its data sources.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    /// The text is not JSON, even leniently. `path` is where the parser was (may be empty).
    #[error("line {line}, column {column}{}: {message}", in_path(.path))]
    Syntax {
        line: usize,
        column: usize,
        path: String,
        message: String,
    },

    /// A `${name}` placeholder with no parameter of that name.
    #[error(
        "line {line}, column {column}: parameter `${{{name}}}` is not defined \
         (give it with -p \"-D{name}=VALUE\" or --param {name}=VALUE; write `$${{{name}}}` for a literal `${{{name}}}`)"
    )]
    UnresolvedParam {
        name: String,
        line: usize,
        column: usize,
    },

    /// A malformed `-p` / `--param` argument.
    #[error("parameter argument `{argument}`: {reason}")]
    BadParam { argument: String, reason: String },

    /// A value of the wrong type, e.g. a list where a number is expected.
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: String,
    },

    /// A value or structure the engine cannot run: a missing reader, two content elements, …
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },

    /// A `${env:NAME}` reference in the data source file whose variable is not set.
    #[error("data sources: {path}: environment variable `{name}` is not set")]
    MissingEnv { name: String, path: String },
}

fn in_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (in {path})")
    }
}

impl JobError {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        JobError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}
