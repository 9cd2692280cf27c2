//! Stores written before series existed: their year directories move under
//! `timeframe=1min/adjustment=none` at the first load.

use super::*;

impl Embedded {
    /// Moves the year directories of a store written before series existed under
    /// `timeframe=1min/adjustment=none`, so that the dataset has one partition depth.
    pub(super) fn move_legacy_years(&self) -> Result<()> {
        for (name, dir) in subdirs(&self.dataset_dir())? {
            let Some(symbol) = name.strip_prefix("symbol=") else {
                continue;
            };
            let target = self.series_dir(&Series::minute(symbol)?)?;
            for (year, from) in subdirs(&dir)? {
                if !year.starts_with("year=") {
                    continue;
                }
                let to = target.join(&year);
                if to.exists() {
                    return Err(StoreError::Unexpected {
                        path: from,
                        detail: format!(
                            "cannot move it to {}: that directory exists; move or remove one of them",
                            to.display()
                        ),
                    }
                    .into());
                }
                fs::create_dir_all(&target).map_err(|e| StoreError::io(&target, e))?;
                fs::rename(&from, &to).map_err(|e| StoreError::io(&from, e))?;
            }
        }
        Ok(())
    }
}
