//! The collections' representations: each type's compact form and its large
//! form behind one type, as Redis's encodings are.
//!
//! [`small`] keeps short byte strings inline (keys, set members); [`string`]
//! is the string type (short ones inline); [`listpack`] is the packed sequence
//! the compact forms are built on; [`list`] is the list type, [`hash`] the hash type, [`set`] the set type (an intset
//! while small, a [`table`] beyond) and [`zset`] the sorted set type.

pub mod hash;
pub mod list;
pub mod listpack;
pub mod set;
pub mod small;
pub mod string;
pub mod table;
pub mod zset;
