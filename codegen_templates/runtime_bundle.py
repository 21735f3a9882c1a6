class __hyperasc_runtime__:
    """The hyperasc runtime, carried as source and imported as a package of its own.

    SOURCES holds the modules of the package `hyperasc.runtime`, unchanged.
    load() imports them under a private name in sys.modules, so none of
    their names mix with this script's, and tracebacks show their lines.
    """

    VERSION = None  # filled in by hyperasc
    SOURCES = {}  # filled in by hyperasc: module name -> source text
    loaded = None  # the `search` module, once load() has imported it

    @classmethod
    def load(cls):
        """The runtime's `search` module, imported once per process.

        Each trial calls this; after the first call it only returns `loaded`.
        """
        if cls.loaded is None:
            cls.loaded = cls.module("search")
        return cls.loaded

    @classmethod
    def module(cls, name):
        """One module of the runtime by name, such as "mongo", for tools outside the script."""
        import importlib

        return importlib.import_module(cls.package() + "." + name)

    @classmethod
    def early(cls, script, defaults):
        """Before the model file's imports: answer --help, --version and
        --list-devices, or keep the libraries' log lines off the terminal."""
        import sys

        cls.module("early").early(script, sys.argv[1:], defaults)

    @classmethod
    def package(cls):
        """The runtime package's name in sys.modules, where it is set up once per process."""
        import hashlib
        import importlib
        import importlib.abc
        import importlib.util
        import sys

        digest = hashlib.sha256(repr(sorted(cls.SOURCES.items())).encode()).hexdigest()
        package = "_hyperasc_runtime_" + digest[:12]
        if package not in sys.modules:
            sources, version = cls.SOURCES, cls.VERSION

            class Loader(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
                def module(self, fullname):
                    if fullname == package:
                        return "__init__"
                    prefix, _, rest = fullname.rpartition(".")
                    return rest if prefix == package and rest in sources else None

                def find_spec(self, fullname, path=None, target=None):
                    name = self.module(fullname)
                    if name is None:
                        return None
                    return importlib.util.spec_from_loader(
                        fullname, self, is_package=name == "__init__"
                    )

                def is_package(self, fullname):
                    return self.module(fullname) == "__init__"

                def get_source(self, fullname):
                    return sources[self.module(fullname)]

                def get_code(self, fullname):
                    filename = f"hyperasc-{version}-runtime/{self.module(fullname)}.py"
                    source = self.get_source(fullname)
                    return compile(source, filename, "exec", dont_inherit=True)

            sys.meta_path.append(Loader())
            importlib.import_module(package).BUNDLE = cls
        return package

    @classmethod
    def run(cls, main):
        """Run the script's main(); its exit status, errors as one line."""
        return cls.load().run_main(main)

    @staticmethod
    def shipped(source, config):
        """A worker's copy of the objective: the script `source`, loaded once as a module.

        cloudpickle sends this function by value, so it uses nothing from the
        script's globals.
        """
        import hashlib
        import sys
        import types

        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
        name = "hyperasc_script_" + digest[:16]
        module = sys.modules.get(name)
        if module is None:
            main = sys.modules.get("__main__")
            try:
                with open(main.__file__, encoding="utf-8") as f:
                    text = f.read()
                same = hashlib.sha256(text.encode("utf-8")).hexdigest() == digest
            except (AttributeError, TypeError, OSError):
                same = False
            if same:
                module = main
            else:
                # Registered before it runs, as an import would be; later
                # trials in this process reuse it, loaded data included.
                module = types.ModuleType(name)
                module.__file__ = f"<{name}>"
                sys.modules[name] = module
                exec(compile(source, module.__file__, "exec"), module.__dict__)
            sys.modules[name] = module
        runtime = module.__hyperasc_runtime__.load()
        trial = getattr(module, config["trial"])
        script = runtime.Script(path=module.__file__, trial=trial, source=source)
        return runtime.ShippedObjective(script, config)
