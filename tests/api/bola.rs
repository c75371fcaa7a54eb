//! BOLA (see below).
