"""A stand-in for torch: dtypes and tensor() only (see ../README.md)."""


class dtype:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    __str__ = __repr__


float32 = dtype("float32")
bfloat16 = dtype("bfloat16")
float16 = dtype("float16")
long = dtype("int64")


class FakeTensor:
    def __init__(self, data, dtype=None):
        self.data = data
        self.dtype = dtype

    def tolist(self):
        return self.data


def tensor(data, dtype=None):
    return FakeTensor(data, dtype)
