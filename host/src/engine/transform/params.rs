//! The parameters every built-in shares: `{"columnIndex": 5, "paras": ["1", "3"]}`.

use serde_json::Value;

pub struct Parameter {
    pub column_index: usize,
    pub paras: Vec<String>,
}

impl Parameter {
    /// DataX requires `columnIndex` for every built-in but `dx_groovy`; `paras` are strings
    /// (numbers are taken as their text, which DataX's casts would refuse).
    pub fn read(parameter: &Value) -> Result<Parameter, String> {
        let column_index = match parameter.get("columnIndex") {
            None | Some(Value::Null) => return Err("parameter.columnIndex is required".into()),
            Some(value) => value
                .as_u64()
                .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
                .and_then(|index| usize::try_from(index).ok())
                .ok_or_else(|| {
                    format!(
                        "parameter.columnIndex must be a column number (0, 1, …), found {value}"
                    )
                })?,
        };
        let paras = match parameter.get("paras") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::String(text) => Ok(text.clone()),
                    Value::Number(number) => Ok(number.to_string()),
                    other => Err(format!("paras[{index}] must be a string, found {other}")),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(format!("parameter.paras must be a list, found {other}")),
        };
        Ok(Parameter {
            column_index,
            paras,
        })
    }

    /// The paras, which must be exactly `names.len()`; the names say what each one is.
    pub fn expect(&self, names: &[&str]) -> Result<&[String], String> {
        if self.paras.len() != names.len() {
            return Err(format!(
                "paras must have {} values ({}), found {}",
                names.len(),
                names.join(", "),
                self.paras.len()
            ));
        }
        Ok(&self.paras)
    }
}

/// `paras[index]` as Java's `Integer.valueOf` reads it: an `int`, optional sign, no spaces.
pub fn int_para(paras: &[String], index: usize, what: &str) -> Result<i32, String> {
    paras[index].parse().map_err(|_| {
        format!(
            "paras[{index}] ({what}) must be an integer, found {:?}",
            paras[index]
        )
    })
}
