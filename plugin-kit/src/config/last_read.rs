//! What a job read last from its tasks' configurations, kept for the next task.

use std::sync::{Mutex, PoisonError};

/// The value a job read last from a task configuration, with what it was read from. A job's
/// tasks carry the same text (the job's parameter, the table's schema), so a job of thousands
/// of small partitions reads it once, not once per task. Tasks are made on several threads:
/// one reads while the others wait for its value.
pub struct LastRead<K, V>(Mutex<Option<(K, V)>>);

impl<K, V> Default for LastRead<K, V> {
    fn default() -> Self {
        LastRead(Mutex::new(None))
    }
}

impl<K, V: Clone> LastRead<K, V> {
    /// The value kept, when `same` says its key is this task's; else what `read` gives (the
    /// key and the value), kept in its place.
    pub fn get_or_read<E>(
        &self,
        same: impl FnOnce(&K) -> bool,
        read: impl FnOnce() -> Result<(K, V), E>,
    ) -> Result<V, E> {
        // A panic elsewhere while holding the lock leaves a whole entry or none: usable.
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((key, value)) = &*last {
            if same(key) {
                return Ok(value.clone());
            }
        }
        let (key, value) = read()?;
        *last = Some((key, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_read_last_is_not_read_again() {
        let last = LastRead::<String, usize>::default();
        let reads = std::cell::Cell::new(0);
        let get = |text: &str| {
            last.get_or_read(
                |key| key == text,
                || -> Result<_, ()> {
                    reads.set(reads.get() + 1);
                    Ok((text.to_string(), text.len()))
                },
            )
        };
        assert_eq!(get("abc"), Ok(3));
        assert_eq!(get("abc"), Ok(3));
        assert_eq!(get("de"), Ok(2));
        assert_eq!(get("abc"), Ok(3));
        assert_eq!(reads.get(), 3, "read once per change of key");
    }

    #[test]
    fn a_failed_read_keeps_nothing_and_is_returned() {
        let last = LastRead::<u8, u8>::default();
        assert_eq!(last.get_or_read(|_| true, || Err("broken")), Err("broken"));
        assert_eq!(last.get_or_read(|_| true, || Ok::<_, ()>((1, 7))), Ok(7));
    }
}
