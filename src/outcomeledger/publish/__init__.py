"""Publishing where accountability is read (DESIGN 12): Procurement Act notices as OCDS."""
