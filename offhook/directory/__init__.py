"""The address book as numbers see it: names as people read them, the normalized number
index, the bulk normalization job, and caller lookup (number → addresses or colleagues)."""
