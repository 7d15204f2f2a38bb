"""Senders: one small module per provider behind the :class:`~notifier.senders.base.Sender`
protocol, registered as ``notifier.senders`` entry points."""
