"""``crosspost serve``: a local web app (calendar, composer, personas, audit log) over the same
library as the commands. Imported only by the ``serve`` command."""
