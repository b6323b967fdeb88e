"""What the Cafs and the Cnaf read out of the answers: exports (CSV, XLSX, codebook), dashboard figures, the reading view and search."""
