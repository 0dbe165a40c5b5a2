"""Every write of the notifications app: notifications, e-mail settings and delivery,
preferences."""
