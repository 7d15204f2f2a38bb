"""What the merchant UI (``/admin``), the admin REST API and ``notifier templates`` do, as plain
functions over a session, the runtime and the merchant. Web routers and the CLI only parse,
call these and render; nothing here knows about HTTP.

* :mod:`~notifier.admin.versions` -- template overrides as versions (history, save, roll back,
  diff against the default, "use my wording" on/off);
* :mod:`~notifier.admin.checks` -- validation beyond the template's own (SMS budget, WhatsApp
  template mapping), previews in every channel, the test send;
* :mod:`~notifier.admin.switches` -- triggers and channels on/off;
* :mod:`~notifier.admin.profile` -- the merchant's settings (validated);
* :mod:`~notifier.admin.queries` -- dashboard, shipments, notifications;
* :mod:`~notifier.admin.optouts` -- who opted out, re-subscribing with a recorded reason.

On/off is stored in ``Merchant.settings`` where the pipeline already reads it:
``notify.disabled_triggers`` turns a trigger off for every channel and ``trigger_channels
[trigger]`` lists the channels a trigger goes on (absent: ``notify.channels``). The override
row's ``enabled`` flag means "use my wording": off, the default template is sent instead
(the flag is set on every version of that trigger/channel/locale, so the newest one decides).
"""
