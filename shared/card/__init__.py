"""The KTP-el card's face, shared by the print service (which draws it) and the counter (which
checks that what a resident's card will carry fits on it): `layout` places every printed thing,
`fit` decides whether a value fits its place."""
