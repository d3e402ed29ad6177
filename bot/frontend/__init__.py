"""The Discord front end: the only part of serialbot that talks to Discord."""
